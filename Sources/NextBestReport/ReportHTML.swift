// Renders ReportData as one self-contained HTML page: inline CSS and SVG, readable on screen and on paper.
import Foundation

/// Writes the report as one HTML file that needs nothing else: no network, fonts or scripts to render.
public enum ReportHTML {
    static let blue = "#2f6db5", teal = "#2a9d8f", orange = "#e07b39", grey = "#8d99a6"
    static let statusSeries = [
        ChartSeries(name: "open", color: "#e0a030"), ChartSeries(name: "assigned", color: "#2f6db5"),
        ChartSeries(name: "done", color: "#2a9d8f"), ChartSeries(name: "cancelled", color: "#a0a8b0"),
        ChartSeries(name: "expired", color: "#c8553d"),
    ]
    static let ageSeries = [
        ChartSeries(name: "under 1 day", color: "#9cc5a1"), ChartSeries(name: "1–3 days", color: "#e0c050"),
        ChartSeries(name: "3–7 days", color: "#e07b39"), ChartSeries(name: "7 days or more", color: "#c8553d"),
    ]

    /// A whole number with thousands separators: 1234567 → "1,234,567".
    static func int(_ v: Int) -> String {
        let digits = String(abs(v))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return v < 0 ? "-" + out : out
    }

    static func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }

    static func points(_ v: Double) -> String { String(format: "%+.1f points", v * 100) }

    static func hours(_ v: Double) -> String { v >= 48 ? String(format: "%.1f days", v / 24) : String(format: "%.1f h", v) }

    static func money(_ v: Double) -> String { v.rounded() == v && abs(v) < 1e15 ? int(Int(v)) : String(format: "%.2f", v) }

    static func date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "d MMMM yyyy, HH:mm 'UTC'"
        return f.string(from: d)
    }

    static let style = """
    body{font-family:"Segoe UI","Helvetica Neue","DejaVu Sans",Arial,sans-serif;color:#1d2733;background:#fff;margin:0 auto;max-width:820px;padding:24px 28px;line-height:1.4}
    h1{font-size:26px;margin:0 0 4px} h2{font-size:20px;margin:28px 0 6px;padding-bottom:4px;border-bottom:2px solid #d6dde5}
    h3{font-size:15px;margin:18px 0 4px} p.lead{color:#4b5866;margin:0 0 12px} .window{font-size:15px;color:#33414f}
    .tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0} .tile{border:1px solid #d6dde5;border-radius:6px;padding:8px 12px;min-width:130px;background:#f6f8fa}
    .tile b{display:block;font-size:22px} .tile span{font-size:12px;color:#4b5866}
    table{border-collapse:collapse;font-size:13px;margin:8px 0 4px;width:100%} th,td{padding:4px 8px;border-bottom:1px solid #e3e8ee;text-align:right}
    th:first-child,td:first-child{text-align:left} th{background:#f0f3f6;font-weight:600}
    svg.chart{display:block;max-width:100%;height:auto;margin:4px 0 10px} svg text{font-size:12px;fill:#1d2733}
    svg text.value{font-weight:600} svg text.inbar{fill:#fff;font-weight:600} svg text.muted,.muted{fill:#6b7785;color:#6b7785}
    svg text.legend{font-size:12px} .note{font-size:12px;color:#4b5866} figure{margin:0;break-inside:avoid}
    footer{margin-top:28px;font-size:12px;color:#4b5866}
    @media print{body{max-width:none;padding:0} section{break-before:page} section.first{break-before:auto}
    .tile{background:#fff} th{background:#fff} h2,h3{break-after:avoid} tr{break-inside:avoid} @page{margin:14mm}}
    """

    /// The report as one HTML page.
    public static func render(_ r: ReportData) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        h += "<title>NextBest report</title><style>\(style)</style></head><body>\n"
        let window = "from \(r.from.map(date) ?? "the first record") to \(r.to.map(date) ?? "now")"
        h += "<header><h1>NextBest report</h1><p class=\"window\">Window: <b>\(ReportSVG.escape(window))</b></p>"
        h += "<p class=\"lead\">Made at \(date(r.generatedAt)). Backlog ages and overdue tasks are as of that moment.</p></header>\n"
        h += glance(r) + outputSection(r.output) + responseSection(r.output) + liftSection(r.output.lift) + processSection(r.process)
        h += "<footer>Definitions of every number are in the README, section “The report”. "
        h += "Tasks count in the window by when they were created; decisions and outcomes by when they happened.</footer>\n"
        h += "<p id=\"selfcheck\" hidden>not checked</p>\n<script>\(selfCheck)</script>\n</body></html>\n"
        return h
    }

    /// Counts charts drawn with a non-zero size and writes the result for the browser test; the page renders without it.
    static let selfCheck = """
    (function(){var c=document.querySelectorAll('svg.chart'),ok=0;for(var i=0;i<c.length;i++){var b=c[i].getBoundingClientRect();if(b.width>0&&b.height>0&&c[i].querySelector('rect,text'))ok++;}document.getElementById('selfcheck').textContent='charts rendered '+ok+' of '+c.length;})();
    """

    static func figure(_ title: String, _ svg: String, note: String? = nil) -> String {
        "<figure><h3>\(ReportSVG.escape(title))</h3>\(svg)" + (note.map { "<p class=\"note\">\(ReportSVG.escape($0))</p>" } ?? "") + "</figure>\n"
    }

    static func tile(_ value: String, _ label: String) -> String {
        "<div class=\"tile\"><b>\(ReportSVG.escape(value))</b><span>\(ReportSVG.escape(label))</span></div>"
    }

    static func glance(_ r: ReportData) -> String {
        let o = r.output
        var h = "<section class=\"first\"><h2>At a glance</h2><div class=\"tiles\">"
        h += tile(int(o.decisions), "decisions made") + tile(int(o.customersDecided), "customers decided for")
        h += tile(int(o.customersReached), "customers reached") + tile(int(o.customersNotReached), "customers not reached")
        h += tile(int(o.tasks), "actions sent to departments") + tile(int(o.outcomes), "customer responses")
        let lift = o.lift.overall.lift.map(points) ?? "no holdout yet"
        h += tile(lift, "lift over held-out customers")
        h += tile(int(r.process.total.byStatus.backlog), "tasks waiting (open or assigned)")
        h += tile(int(r.process.total.pastSLA.total), "tasks past their deadline")
        return h + "</div></section>\n"
    }

    /// Charts show at most this many rows; the rest are summed in a note under the chart (and all are in the JSON).
    static let chartRows = 25

    static func volume(_ title: String, _ items: [NamedCount], _ color: String) -> String {
        let shown = items.prefix(chartRows)
        let rest = items.dropFirst(chartRows)
        let note = rest.isEmpty ? nil : "and \(int(rest.count)) more with \(int(rest.reduce(0) { $0 + $1.count })) tasks between them"
        return figure(title, ReportSVG.bars(title: title, items: shown.map { ($0.name, Double($0.count)) }, color: color,
                                            format: { int(Int($0)) }), note: note)
    }

    static func outputSection(_ o: OutputMetrics) -> String {
        var h = "<section><h2>What went out</h2><p class=\"lead\">Actions the engine chose in the window, "
        h += "as tasks in the departments’ queues (\(int(o.tasks)) in all).</p>\n"
        h += volume("Actions per department", o.actionsPerDepartment, blue)
        h += volume("Actions per channel", o.actionsPerChannel, teal)
        h += volume("How often each action was chosen", o.actionsPerAction, blue)
        h += volume("Actions per customer segment", o.actionsPerSegment, orange)
        h += volume("Actions per policy", o.actionsPerPolicy, teal)
        return h + "</section>\n"
    }

    static func rateChart(_ title: String, _ rates: [OutcomeRate]) -> String {
        let series = [ChartSeries(name: "accepted", color: teal), ChartSeries(name: "converted", color: blue)]
        let rows = rates.prefix(chartRows).map { ($0.name, [$0.acceptedRate, $0.convertedRate]) }
        let note = rates.count > chartRows ? "the \(chartRows) with the most contacts; all \(int(rates.count)) are in the table" : nil
        return figure(title, ReportSVG.groupedBars(title: title, rows: rows, series: series, format: percent, missing: "no contacts"),
                      note: note)
    }

    static func rateTable(_ what: String, _ rates: [OutcomeRate]) -> String {
        var h = "<table><tr><th>\(what)</th><th>contacts</th><th>responses</th><th>accepted</th><th>converted</th>"
        h += "<th>accepted rate</th><th>converted rate</th><th>value</th></tr>"
        for r in rates {
            h += "<tr><td>\(ReportSVG.escape(r.name))</td><td>\(int(r.contacts))</td><td>\(int(r.outcomes))</td>"
            h += "<td>\(int(r.accepted))</td><td>\(int(r.converted))</td><td>\(r.acceptedRate.map(percent) ?? "–")</td>"
            h += "<td>\(r.convertedRate.map(percent) ?? "–")</td><td>\(money(r.value))</td></tr>"
        }
        return h + "</table>\n"
    }

    static func responseSection(_ o: OutputMetrics) -> String {
        var h = "<section><h2>How customers responded</h2><p class=\"lead\">Accepted and converted responses "
        h += "as a share of contacts (tasks not cancelled). \(int(o.outcomes)) responses in the window.</p>\n"
        h += rateChart("Response rates per action", o.ratesPerAction) + rateTable("action", o.ratesPerAction)
        h += rateChart("Response rates per channel", o.ratesPerChannel) + rateTable("channel", o.ratesPerChannel)
        h += rateChart("Response rates per customer segment", o.ratesPerSegment) + rateTable("segment", o.ratesPerSegment)
        return h + "</section>\n"
    }

    static func liftSection(_ l: LiftMetrics) -> String {
        var h = "<section><h2>Did it work? Treated against held-out customers</h2><p class=\"lead\">The share of "
        h += "customers who accepted or converted, among those who got the actions and among those a holdout "
        h += "kept them from. Lift is the difference in percentage points.</p>\n"
        let all = [l.overall] + l.perPolicy
        let series = [ChartSeries(name: "treated", color: blue), ChartSeries(name: "held out", color: grey)]
        let rows = all.prefix(chartRows).map { ($0.name, [$0.treatedRate, $0.heldOutRate]) }
        let note = all.count > chartRows ? "overall and the first \(chartRows - 1) policies by name; all are in the table" : nil
        h += figure("Response rate: treated and held out", ReportSVG.groupedBars(
            title: "Response rate: treated and held out", rows: rows, series: series, format: percent, missing: "no holdout yet"),
            note: note)
        h += "<table><tr><th>policy</th><th>treated customers</th><th>treated rate</th><th>held-out customers</th>"
        h += "<th>held-out rate</th><th>lift</th><th>relative lift</th></tr>"
        for x in all {
            h += "<tr><td>\(ReportSVG.escape(x.name))</td><td>\(int(x.treatedCustomers))</td><td>\(x.treatedRate.map(percent) ?? "–")</td>"
            h += "<td>\(int(x.heldOutCustomers))</td><td>\(x.heldOutRate.map(percent) ?? "–")</td>"
            h += "<td>\(x.lift.map(points) ?? (x.note ?? "–"))</td><td>\(x.relativeLift.map { String(format: "%+.0f%%", $0 * 100) } ?? "–")</td></tr>"
        }
        return h + "</table></section>\n"
    }

    static func processSection(_ p: ProcessMetrics) -> String {
        var h = "<section><h2>The departments’ queues</h2><p class=\"lead\">Where the tasks created in the window "
        h += "stand now, how long they waited, and which missed their deadline.</p>\n"
        let depts = p.departments
        let status = depts.map { d in (d.department, [d.byStatus.open, d.byStatus.assigned, d.byStatus.done, d.byStatus.cancelled, d.byStatus.expired]) }
        h += figure("Tasks by status", ReportSVG.stackedBars(title: "Tasks by status", rows: status, series: statusSeries))
        let age = depts.map { d in (d.department, [d.backlogAge.under1Day, d.backlogAge.days1to3, d.backlogAge.days3to7, d.backlogAge.over7Days]) }
        h += figure("Backlog by age (open and assigned tasks)", ReportSVG.stackedBars(
            title: "Backlog by age (open and assigned tasks)", rows: age, series: ageSeries))
        let durSeries = [ChartSeries(name: "median (p50)", color: teal), ChartSeries(name: "9 in 10 within (p90)", color: orange)]
        let assign = (depts + [p.total]).map { d in (d.department, [d.timeToAssign.p50Hours, d.timeToAssign.p90Hours]) }
        h += figure("Time from created to assigned", ReportSVG.groupedBars(
            title: "Time from created to assigned", rows: assign, series: durSeries, format: hours, missing: "none assigned"))
        let done = (depts + [p.total]).map { d in (d.department, [d.timeToDone.p50Hours, d.timeToDone.p90Hours]) }
        h += figure("Time from created to done", ReportSVG.groupedBars(
            title: "Time from created to done", rows: done, series: durSeries, format: hours, missing: "none done"))
        h += "<figure><h3>Deadlines</h3><table><tr><th>department</th><th>tasks</th><th>waiting</th><th>open past deadline</th>"
        h += "<th>done late</th><th>expired</th><th>assigned (count)</th><th>done (count)</th></tr>"
        for d in depts + [p.total] {
            h += "<tr><td>\(ReportSVG.escape(d.department))</td><td>\(int(d.tasks))</td><td>\(int(d.byStatus.backlog))</td>"
            h += "<td>\(int(d.pastSLA.openOverdue))</td><td>\(int(d.pastSLA.doneLate))</td><td>\(int(d.pastSLA.expired))</td>"
            h += "<td>\(int(d.timeToAssign.count))</td><td>\(int(d.timeToDone.count))</td></tr>"
        }
        return h + "</table></figure></section>\n"
    }
}
