// The report's numbers: output and process metrics over a window, Codable, written as JSON.
import Foundation

/// Everything `nextbest report` shows, over one window. See the README's "The report" for each number.
public struct ReportData: Codable, Sendable, Equatable {
    /// When the report was made; ages and overdue tasks are measured at this moment.
    public var generatedAt: Date
    /// The window's start (inclusive), or nil for "from the first record".
    public var from: Date?
    /// The window's end (exclusive), or nil for "up to now".
    public var to: Date?
    /// What the engine produced and what customers did.
    public var output: OutputMetrics
    /// How the departments' queues ran.
    public var process: ProcessMetrics

    /// Makes a report from its parts.
    public init(generatedAt: Date, from: Date?, to: Date?, output: OutputMetrics, process: ProcessMetrics) {
        self.generatedAt = generatedAt
        self.from = from
        self.to = to
        self.output = output
        self.process = process
    }

    /// The report as pretty-printed JSON with sorted keys and ISO-8601 dates (`--format json`).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Reads a report back from the JSON `jsonData()` writes.
    public static func fromJSON(_ data: Data) throws -> ReportData {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(ReportData.self, from: data)
    }
}

/// A name and how many: one bar of a volume chart.
public struct NamedCount: Codable, Sendable, Equatable {
    /// The department, channel, action, segment or policy.
    public var name: String
    /// How many tasks.
    public var count: Int
}

/// The output metrics: volumes, outcome rates and lift.
public struct OutputMetrics: Codable, Sendable, Equatable {
    /// Decisions recorded in the window.
    public var decisions: Int
    /// Distinct customers with a decision in the window.
    public var customersDecided: Int
    /// Distinct customers with at least one task in the window that was not cancelled.
    public var customersReached: Int
    /// Customers decided in the window who were not reached.
    public var customersNotReached: Int
    /// Tasks created in the window, whatever their status.
    public var tasks: Int
    /// Tasks created in the window per department, most first.
    public var actionsPerDepartment: [NamedCount]
    /// Tasks created in the window per channel, most first.
    public var actionsPerChannel: [NamedCount]
    /// Tasks created in the window per action, most first.
    public var actionsPerAction: [NamedCount]
    /// Tasks created in the window per segment of the customer (a task counts once for each of its segments).
    public var actionsPerSegment: [NamedCount]
    /// Tasks created in the window per proposing policy, most first.
    public var actionsPerPolicy: [NamedCount]
    /// Outcomes in the window.
    public var outcomes: Int
    /// Outcome rates per action.
    public var ratesPerAction: [OutcomeRate]
    /// Outcome rates per segment.
    public var ratesPerSegment: [OutcomeRate]
    /// Outcome rates per channel.
    public var ratesPerChannel: [OutcomeRate]
    /// Treated against held-out customers, overall and per policy.
    public var lift: LiftMetrics
}

/// Contacts and responses for one action, segment or channel.
public struct OutcomeRate: Codable, Sendable, Equatable {
    /// The action, segment or channel.
    public var name: String
    /// Tasks created in the window that were not cancelled.
    public var contacts: Int
    /// Outcomes in the window, of any kind.
    public var outcomes: Int
    /// Outcomes in the window that are `accepted`.
    public var accepted: Int
    /// Outcomes in the window that are `converted`.
    public var converted: Int
    /// accepted / contacts, or nil without contacts.
    public var acceptedRate: Double?
    /// converted / contacts, or nil without contacts.
    public var convertedRate: Double?
    /// Sum of the outcomes' values.
    public var value: Double
}

/// Response rates of treated and held-out customers, and the difference.
public struct Lift: Codable, Sendable, Equatable {
    /// The policy, or `overall`.
    public var name: String
    /// Customers treated (see the README for who counts).
    public var treatedCustomers: Int
    /// Treated customers with an accepted or converted outcome.
    public var treatedResponded: Int
    /// treatedResponded / treatedCustomers, or nil without treated customers.
    public var treatedRate: Double?
    /// Customers held out.
    public var heldOutCustomers: Int
    /// Held-out customers with an accepted or converted outcome.
    public var heldOutResponded: Int
    /// heldOutResponded / heldOutCustomers, or nil without held-out customers.
    public var heldOutRate: Double?
    /// treatedRate − heldOutRate, or nil when either is missing.
    public var lift: Double?
    /// lift / heldOutRate, or nil when that is missing or zero.
    public var relativeLift: Double?
    /// "no holdout yet" when there are no held-out customers, else nil.
    public var note: String?
}

/// Lift overall (universal holdout) and per policy.
public struct LiftMetrics: Codable, Sendable, Equatable {
    /// Reached customers against customers in the universal holdout.
    public var overall: Lift
    /// Per policy: customers who got its actions against customers its holdouts kept them from.
    public var perPolicy: [Lift]
}

/// The process metrics: one entry per department and the total.
public struct ProcessMetrics: Codable, Sendable, Equatable {
    /// Per department, by name.
    public var departments: [DepartmentProcess]
    /// All departments together.
    public var total: DepartmentProcess
}

/// How one department's queue ran over the window.
public struct DepartmentProcess: Codable, Sendable, Equatable {
    /// The department (or `all departments`).
    public var department: String
    /// Tasks created in the window.
    public var tasks: Int
    /// Those tasks by status now.
    public var byStatus: StatusCounts
    /// Open and assigned tasks by age at `generatedAt`.
    public var backlogAge: AgeBuckets
    /// Hours from created to assigned.
    public var timeToAssign: Durations
    /// Hours from created to done.
    public var timeToDone: Durations
    /// Tasks that missed their deadline.
    public var pastSLA: SLACounts
}

/// Tasks per status.
public struct StatusCounts: Codable, Sendable, Equatable {
    /// Status `open`.
    public var open = 0
    /// Status `assigned`.
    public var assigned = 0
    /// Status `done`.
    public var done = 0
    /// Status `cancelled`.
    public var cancelled = 0
    /// Status `expired`.
    public var expired = 0

    /// Open and assigned: the backlog.
    public var backlog: Int { open + assigned }
}

/// Open and assigned tasks by age (lower bound inclusive, upper exclusive).
public struct AgeBuckets: Codable, Sendable, Equatable {
    /// Younger than one day.
    public var under1Day = 0
    /// One to three days.
    public var days1to3 = 0
    /// Three to seven days.
    public var days3to7 = 0
    /// Seven days or older.
    public var over7Days = 0
}

/// Percentiles of a duration, in hours (nearest rank over exactly sorted values).
public struct Durations: Codable, Sendable, Equatable {
    /// How many tasks the figures are over.
    public var count: Int
    /// The median, or nil without tasks.
    public var p50Hours: Double?
    /// The 90th percentile, or nil without tasks.
    public var p90Hours: Double?
}

/// Tasks that missed their deadline (`due_at`).
public struct SLACounts: Codable, Sendable, Equatable {
    /// Open or assigned with `due_at` before `generatedAt`.
    public var openOverdue = 0
    /// Done after their `due_at`.
    public var doneLate = 0
    /// Status `expired`.
    public var expired = 0

    /// openOverdue + doneLate + expired.
    public var total: Int { openOverdue + doneLate + expired }
}
