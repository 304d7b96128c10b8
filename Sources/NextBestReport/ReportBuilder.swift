// Builds ReportData from rows fed one at a time (decisions, then tasks, then outcomes), aggregating as it goes.
import Foundation

/// Why rows could not be added to a report.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Rows came in the wrong order: the report reads decisions, then tasks, then outcomes.
    case outOfOrder(String)

    /// A message for people.
    public var description: String {
        switch self {
        case .outOfOrder(let what):
            return "The report reads decisions first, then tasks, then outcomes, but \(what)."
        }
    }
}

/// Turns decision, task and outcome rows into `ReportData`, over the window `[from, to)`.
///
/// Feed every decision, then every task, then every outcome (the order the store reads them
/// in); rows outside the window are skipped (decisions by `at`, tasks by `createdAt`, outcomes
/// by `at`). Memory grows with the number of distinct customers, names and durations, not with
/// the rows kept: each row is counted and dropped. Durations are kept as one `Double` per task
/// and sorted exactly when the report is made (8 bytes a task; a million tasks sort in well
/// under a second).
public struct ReportBuilder: Sendable {
    /// The window's start (inclusive), if any.
    public let from: Date?
    /// The window's end (exclusive), if any.
    public let to: Date?
    /// The moment the report is made at: backlog ages and overdue tasks are measured here.
    public let now: Date

    private enum Phase: Int, Sendable { case decisions, tasks, outcomes }
    private var phase = Phase.decisions

    // Customers, numbered as first seen, with flag bits per customer.
    private var customerIndex: [String: Int32] = [:]
    private var flags: [UInt8] = []
    private var customerSegments: [Int32] = []
    private static let decided: UInt8 = 1, reached: UInt8 = 2, universallyHeld: UInt8 = 4
    private static let respondedReached: UInt8 = 8, respondedHeld: UInt8 = 16

    private var decisions = 0, customersDecided = 0, customersReached = 0, universallyHeldCount = 0
    private var respondedReachedCount = 0, respondedHeldCount = 0
    private var tasks = 0, outcomes = 0

    // Names are numbered as first seen (one hash per name per row); counts live in arrays beside them.
    private var channels = Tally(NameAcc()), actions = Tally(NameAcc()), segments = Tally(NameAcc())
    private var policies = Tally(PolicyAcc()), departments = Tally(DeptAcc())
    private var segmentListIndex: [[String]: Int32] = [:]
    private var segmentLists: [[Int]] = []

    /// The channel name used for outcomes that do not say their channel.
    public static let channelNotGiven = "(not given)"

    /// Starts an empty report over `[from, to)`, measured at `now`.
    ///
    /// `expectedCustomers` (for example the number of decisions in the window) is a hint that
    /// saves regrowing the customer index; too high or too low only costs memory or time.
    public init(from: Date? = nil, to: Date? = nil, now: Date = Date(), expectedCustomers: Int = 0) {
        self.from = from
        self.to = to
        self.now = now
        if expectedCustomers > 0 {
            customerIndex.reserveCapacity(expectedCustomers)
            flags.reserveCapacity(expectedCustomers)
            customerSegments.reserveCapacity(expectedCustomers)
        }
    }

    private func inWindow(_ d: Date) -> Bool {
        if let from, d < from { return false }
        if let to, d >= to { return false }
        return true
    }

    private mutating func customer(_ id: String) -> Int32 {
        if let i = customerIndex[id] { return i }
        let i = Int32(flags.count)
        customerIndex[id] = i
        flags.append(0)
        customerSegments.append(-1)
        return i
    }

    private mutating func segmentList(_ list: [String]) -> Int32 {
        if let s = segmentListIndex[list] { return s }
        let s = Int32(segmentLists.count)
        segmentLists.append(list.map { segments.id($0) })
        segmentListIndex[list] = s
        return s
    }

    private mutating func link(action a: Int, policy p: Int) {
        if !actions.accs[a].policies.contains(p) { actions.accs[a].policies.append(p) }
    }

    /// Adds one decision; decisions must all come before any task or outcome.
    public mutating func add(_ d: ReportDecision) throws {
        guard phase == .decisions else { throw ReportError.outOfOrder("decision \(d.id) came after tasks or outcomes") }
        guard inWindow(d.at) else { return }
        decisions += 1
        let c = Int(customer(d.customer))
        if flags[c] & Self.decided == 0 {
            flags[c] |= Self.decided
            customersDecided += 1
        }
        if !d.segments.isEmpty { customerSegments[c] = segmentList(d.segments) }
        if d.holdout != nil, flags[c] & Self.universallyHeld == 0 {
            flags[c] |= Self.universallyHeld
            universallyHeldCount += 1
        }
        for h in d.heldOut {
            let p = policies.id(h.policy)
            policies.accs[p].held.insert(Int32(c))
            link(action: actions.id(h.action), policy: p)
        }
    }

    /// Adds one task; tasks come after the decisions and before any outcome.
    public mutating func add(_ t: ReportTask) throws {
        if phase == .decisions { phase = .tasks }
        guard phase == .tasks else { throw ReportError.outOfOrder("task \(t.id) came after outcomes") }
        guard inWindow(t.createdAt) else { return }
        tasks += 1
        let ch = channels.id(t.channel), a = actions.id(t.action), p = policies.id(t.policy)
        let segs = t.segments.isEmpty ? -1 : Int(segmentList(t.segments))
        let contact = t.status != .cancelled ? 1 : 0
        channels.accs[ch].tasks += 1
        channels.accs[ch].rate.contacts += contact
        actions.accs[a].tasks += 1
        actions.accs[a].rate.contacts += contact
        policies.accs[p].tasks += 1
        if segs >= 0 {
            for s in segmentLists[segs] {
                segments.accs[s].tasks += 1
                segments.accs[s].rate.contacts += contact
            }
        }
        link(action: a, policy: p)
        if contact == 1 {
            let c = customer(t.customer)
            if flags[Int(c)] & Self.reached == 0 {
                flags[Int(c)] |= Self.reached
                customersReached += 1
            }
            policies.accs[p].treated.insert(c)
        }
        Self.addProcess(t, now: now, to: &departments.accs[departments.id(t.department)])
    }

    private static func addProcess(_ t: ReportTask, now: Date, to acc: inout DeptAcc) {
        acc.tasks += 1
        switch t.status {
        case .open: acc.status.open += 1
        case .assigned: acc.status.assigned += 1
        case .done: acc.status.done += 1
        case .cancelled: acc.status.cancelled += 1
        case .expired: acc.status.expired += 1; acc.sla.expired += 1
        }
        if t.status == .open || t.status == .assigned {
            let days = now.timeIntervalSince(t.createdAt) / 86_400
            if days < 1 { acc.age.under1Day += 1 } else if days < 3 { acc.age.days1to3 += 1 } else if days < 7 { acc.age.days3to7 += 1 } else { acc.age.over7Days += 1 }
            if let due = t.dueAt, due < now { acc.sla.openOverdue += 1 }
        }
        if t.status == .done, let at = t.statusAt {
            acc.toDone.append(at.timeIntervalSince(t.createdAt) / 3600)
            if let due = t.dueAt, at > due { acc.sla.doneLate += 1 }
        }
        if let assigned = t.assignedAt ?? (t.status == .assigned ? t.statusAt : nil) {
            acc.toAssign.append(assigned.timeIntervalSince(t.createdAt) / 3600)
        }
    }

    /// Adds one outcome; outcomes come last.
    public mutating func add(_ o: ReportOutcome) throws {
        phase = .outcomes
        guard inWindow(o.at) else { return }
        outcomes += 1
        let accepted = o.outcome == "accepted", converted = o.outcome == "converted"
        let response = RateAcc(contacts: 0, outcomes: 1, accepted: accepted ? 1 : 0, converted: converted ? 1 : 0, value: o.value ?? 0)
        let a = actions.id(o.action)
        actions.accs[a].rate.add(response)
        channels.accs[channels.id(o.channel ?? Self.channelNotGiven)].rate.add(response)
        guard let c = customerIndex[o.customer] else { return }
        let seg = customerSegments[Int(c)]
        if seg >= 0 { for s in segmentLists[Int(seg)] { segments.accs[s].rate.add(response) } }
        guard accepted || converted else { return }
        let f = flags[Int(c)]
        if f & Self.reached != 0, f & Self.respondedReached == 0 {
            flags[Int(c)] |= Self.respondedReached
            respondedReachedCount += 1
        }
        if f & Self.universallyHeld != 0, f & Self.respondedHeld == 0 {
            flags[Int(c)] |= Self.respondedHeld
            respondedHeldCount += 1
        }
        for p in actions.accs[a].policies {
            if policies.accs[p].treated.contains(c) { policies.accs[p].respondedTreated.insert(c) }
            if policies.accs[p].held.contains(c) { policies.accs[p].respondedHeld.insert(c) }
        }
    }

    /// The report over everything added so far.
    public func finish() -> ReportData {
        var notReached = 0
        for f in flags where f & Self.decided != 0 && f & Self.reached == 0 { notReached += 1 }
        let overall = Self.lift("overall", treated: customersReached, treatedResponded: respondedReachedCount,
                                held: universallyHeldCount, heldResponded: respondedHeldCount)
        let perPolicyLift = zip(policies.names, policies.accs).map { name, p in
            Self.lift(name, treated: p.treated.count, treatedResponded: p.respondedTreated.count,
                      held: p.held.count, heldResponded: p.respondedHeld.count)
        }.sorted { $0.name < $1.name }
        let output = OutputMetrics(
            decisions: decisions, customersDecided: customersDecided, customersReached: customersReached,
            customersNotReached: notReached, tasks: tasks,
            actionsPerDepartment: Self.counts(departments.names, departments.accs.map(\.tasks)),
            actionsPerChannel: Self.counts(channels.names, channels.accs.map(\.tasks)),
            actionsPerAction: Self.counts(actions.names, actions.accs.map(\.tasks)),
            actionsPerSegment: Self.counts(segments.names, segments.accs.map(\.tasks)),
            actionsPerPolicy: Self.counts(policies.names, policies.accs.map(\.tasks)), outcomes: outcomes,
            ratesPerAction: Self.rates(actions.names, actions.accs.map(\.rate)),
            ratesPerSegment: Self.rates(segments.names, segments.accs.map(\.rate)),
            ratesPerChannel: Self.rates(channels.names, channels.accs.map(\.rate)),
            lift: LiftMetrics(overall: overall, perPolicy: perPolicyLift))
        var total = DeptAcc()
        var depts: [DepartmentProcess] = []
        for (name, acc) in zip(departments.names, departments.accs).sorted(by: { $0.0 < $1.0 }) {
            depts.append(Self.process(name, acc))
            total.tasks += acc.tasks
            total.status.open += acc.status.open; total.status.assigned += acc.status.assigned
            total.status.done += acc.status.done; total.status.cancelled += acc.status.cancelled
            total.status.expired += acc.status.expired
            total.age.under1Day += acc.age.under1Day; total.age.days1to3 += acc.age.days1to3
            total.age.days3to7 += acc.age.days3to7; total.age.over7Days += acc.age.over7Days
            total.sla.openOverdue += acc.sla.openOverdue; total.sla.doneLate += acc.sla.doneLate
            total.sla.expired += acc.sla.expired
            total.toAssign += acc.toAssign
            total.toDone += acc.toDone
        }
        return ReportData(generatedAt: now, from: from, to: to, output: output,
                          process: ProcessMetrics(departments: depts, total: Self.process("all departments", total)))
    }

    private static func counts(_ names: [String], _ counts: [Int]) -> [NamedCount] {
        zip(names, counts).filter { $0.1 > 0 }.map { NamedCount(name: $0.0, count: $0.1) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
    }

    private static func rates(_ names: [String], _ accs: [RateAcc]) -> [OutcomeRate] {
        zip(names, accs).filter { $0.1.contacts > 0 || $0.1.outcomes > 0 }.map { name, a in
            OutcomeRate(name: name, contacts: a.contacts, outcomes: a.outcomes, accepted: a.accepted,
                        converted: a.converted,
                        acceptedRate: a.contacts > 0 ? Double(a.accepted) / Double(a.contacts) : nil,
                        convertedRate: a.contacts > 0 ? Double(a.converted) / Double(a.contacts) : nil,
                        value: a.value)
        }.sorted { $0.contacts != $1.contacts ? $0.contacts > $1.contacts : $0.name < $1.name }
    }

    private static func lift(_ name: String, treated: Int, treatedResponded: Int, held: Int, heldResponded: Int) -> Lift {
        let tr = treated > 0 ? Double(treatedResponded) / Double(treated) : nil
        let hr = held > 0 ? Double(heldResponded) / Double(held) : nil
        var lift: Double?, relative: Double?
        if let tr, let hr {
            lift = tr - hr
            if hr > 0 { relative = (tr - hr) / hr }
        }
        return Lift(name: name, treatedCustomers: treated, treatedResponded: treatedResponded, treatedRate: tr,
                    heldOutCustomers: held, heldOutResponded: heldResponded, heldOutRate: hr,
                    lift: lift, relativeLift: relative, note: held == 0 ? "no holdout yet" : nil)
    }

    private static func process(_ name: String, _ acc: DeptAcc) -> DepartmentProcess {
        DepartmentProcess(department: name, tasks: acc.tasks, byStatus: acc.status, backlogAge: acc.age,
                          timeToAssign: durations(acc.toAssign), timeToDone: durations(acc.toDone), pastSLA: acc.sla)
    }

    /// Nearest-rank percentiles: the value at position ceil(p × n) of the sorted values (1-based).
    static func durations(_ values: [Double]) -> Durations {
        guard !values.isEmpty else { return Durations(count: 0, p50Hours: nil, p90Hours: nil) }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            sorted[max(0, min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        return Durations(count: sorted.count, p50Hours: rank(0.5), p90Hours: rank(0.9))
    }
}

/// Names numbered as first seen, each with its accumulator.
private struct Tally<Acc: Sendable>: Sendable {
    private var index: [String: Int32] = [:]
    private(set) var names: [String] = []
    var accs: [Acc] = []
    private let initial: Acc

    init(_ initial: Acc) { self.initial = initial }

    /// The name's number, adding it when new.
    mutating func id(_ name: String) -> Int {
        if let i = index[name] { return Int(i) }
        index[name] = Int32(names.count)
        names.append(name)
        accs.append(initial)
        return names.count - 1
    }
}

/// Contacts and responses for one name.
private struct RateAcc: Sendable {
    var contacts = 0, outcomes = 0, accepted = 0, converted = 0, value = 0.0

    mutating func add(_ r: RateAcc) {
        contacts += r.contacts
        outcomes += r.outcomes
        accepted += r.accepted
        converted += r.converted
        value += r.value
    }
}

/// Tasks and rates for a channel, action or segment; for an action, also the policies that propose it.
private struct NameAcc: Sendable {
    var tasks = 0
    var rate = RateAcc()
    var policies: [Int] = []
}

/// Tasks, treated and held-out customers of one policy.
private struct PolicyAcc: Sendable {
    var tasks = 0
    var treated = Set<Int32>(), held = Set<Int32>()
    var respondedTreated = Set<Int32>(), respondedHeld = Set<Int32>()
}

/// One department's queue figures.
private struct DeptAcc: Sendable {
    var tasks = 0
    var status = StatusCounts(), age = AgeBuckets(), sla = SLACounts()
    var toAssign: [Double] = [], toDone: [Double] = []
}
