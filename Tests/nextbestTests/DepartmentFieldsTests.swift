// The department's profile fields kept with a task: written in declared order, read back in that order.
import Foundation
import NextBest
@testable import NextBestStore
import Testing

@Suite("Department fields on tasks")
struct DepartmentFieldsTests {
    @Test("fields are copied from the profile in declared order, dotted names read nested objects, missing ones are null")
    func copied() throws {
        let profile: JSONValue = ["id": "C1", "name": "Zoë \"Z\" Rossi", "consent": ["email": true], "phone": nil,
                                  "tags": ["a", "b"]]
        let text = try #require(RecordedTask.fields(["name", "email", "consent.email", "tags", "phone"], from: profile))
        #expect(text == #"{"name":"Zoë \"Z\" Rossi","email":null,"consent.email":true,"tags":["a","b"],"phone":null}"#)
        #expect(RecordedTask.fields([], from: profile) == nil)
        let task = TaskRecord(id: "T", decision: "D", customer: "C1", action: "a", department: "sales", channel: "phone",
                              priority: 1, createdAt: .init(timeIntervalSince1970: 0), status: .open, assignee: nil,
                              statusAt: .init(timeIntervalSince1970: 0), dueAt: nil, outcome: nil, note: nil, assignedAt: nil,
                              doneAt: nil, policy: nil, segments: [], fields: text)
        #expect(task.fieldList.map(\.name) == ["name", "email", "consent.email", "tags", "phone"])
        #expect(task.fieldList.first?.value == .string("Zoë \"Z\" Rossi"))
        var escaped = task
        escaped.fields = #"{"a\"b":{"x":1,"y":[1,{"z":2}]},"c":"d,e:f"}"#
        #expect(escaped.fieldList.map(\.name) == ["a\"b", "c"])
    }
}
