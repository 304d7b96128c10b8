// The sandbox's outer-local scan reads Lua 5.4's bytecode: a state must refuse to open on any other format.
import Foundation
import Testing
@testable import NextBest

@Suite("Bytecode format guard")
struct BytecodeFormatTests {
    @Test func thisLuaWritesTheFormatTheScanReads() throws {
        _ = try LuaState(limits: Limits())  // sandbox.lua checks string.dump's header and a known assignment as it loads
    }

    @Test func aStateRefusesToOpenWhenTheFormatDiffers() {
        // Pretend the scan was written for another version byte (0x55): the check must fail loudly.
        let modules = Prelude.modules.map { m -> (name: String, source: [UInt8]) in
            guard m.name == "sandbox" else { return m }
            let text = String(decoding: m.source, as: UTF8.self)
            return (m.name, Array(text.replacingOccurrences(of: #"\27Lua\x54"#, with: #"\27Lua\x55"#).utf8))
        }
        #expect(modules.first { $0.name == "sandbox" }.map { String(decoding: $0.source, as: UTF8.self).contains(#"\27Lua\x55"#) } == true)
        do {
            _ = try LuaState(limits: Limits(), modules: modules)
            Issue.record("the state opened with a bytecode format the scan was not written for")
        } catch {
            #expect(error.message.contains("bytecode scan was written for Lua 5.4"))
        }
    }
}
