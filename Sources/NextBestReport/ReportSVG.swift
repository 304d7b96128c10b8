// Inline SVG charts for the HTML report: horizontal grouped bars and stacked bars, numbers on the bars.
import Foundation

/// One coloured series of a chart (a bar per row, or a part of a stacked bar).
struct ChartSeries {
    let name: String
    let color: String
}

/// Draws the report's charts as inline SVG text (no scripts, no external references).
enum ReportSVG {
    static let width = 760.0
    static let labelWidth = 200.0
    static let valueRoom = 90.0
    static let barHeight = 16.0
    static let rowGap = 10.0

    /// Escapes text for HTML and SVG.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func num(_ v: Double) -> String { String(format: "%.1f", v) }

    static func shortLabel(_ s: String) -> String { s.count > 28 ? String(s.prefix(27)) + "…" : s }

    private static func open(_ title: String, height: Double) -> String {
        "<svg class=\"chart\" role=\"img\" aria-label=\"\(escape(title))\" viewBox=\"0 0 \(num(width)) \(num(height))\" "
            + "width=\"\(num(width))\" height=\"\(num(height))\" preserveAspectRatio=\"xMinYMin meet\"><title>\(escape(title))</title>"
    }

    private static func empty(_ title: String) -> String {
        open(title, height: 40) + "<rect x=\"0\" y=\"0\" width=\"\(num(width))\" height=\"40\" fill=\"#f6f7f9\"/>"
            + "<text x=\"12\" y=\"25\" class=\"muted\">Nothing in this window</text></svg>"
    }

    private static func legend(_ series: [ChartSeries], y: Double) -> String {
        var x = labelWidth, out = ""
        for s in series {
            out += "<rect x=\"\(num(x))\" y=\"\(num(y))\" width=\"12\" height=\"12\" fill=\"\(s.color)\"/>"
            out += "<text x=\"\(num(x + 17))\" y=\"\(num(y + 10.5))\" class=\"legend\">\(escape(s.name))</text>"
            x += 30 + Double(s.name.count) * 7
        }
        return out
    }

    /// Horizontal bars, one group per row and one bar per series; nil values show `missing` instead of a bar.
    static func groupedBars(title: String, rows: [(label: String, values: [Double?])], series: [ChartSeries],
                            format: (Double) -> String, missing: String = "–") -> String {
        guard !rows.isEmpty else { return empty(title) }
        let maxValue = max(rows.flatMap { $0.values.compactMap { $0 } }.max() ?? 0, 1e-9)
        let plot = width - labelWidth - valueRoom
        let legendHeight = series.count > 1 ? 24.0 : 0
        let groupHeight = Double(series.count) * barHeight + rowGap
        let height = legendHeight + Double(rows.count) * groupHeight + 6
        var out = open(title, height: height)
        if series.count > 1 { out += legend(series, y: 4) }
        for (i, row) in rows.enumerated() {
            let top = legendHeight + Double(i) * groupHeight + rowGap / 2
            let mid = top + Double(series.count) * barHeight / 2 + 4
            out += "<text x=\"\(num(labelWidth - 8))\" y=\"\(num(mid))\" text-anchor=\"end\" class=\"label\">"
                + "<title>\(escape(row.label))</title>\(escape(shortLabel(row.label)))</text>"
            for (j, value) in row.values.enumerated() {
                let y = top + Double(j) * barHeight
                guard let value else {
                    out += "<text x=\"\(num(labelWidth + 4))\" y=\"\(num(y + barHeight - 4))\" class=\"muted\">\(escape(missing))</text>"
                    continue
                }
                let w = max(value > 0 ? 2 : 0, plot * value / maxValue)
                out += "<rect x=\"\(num(labelWidth))\" y=\"\(num(y + 1))\" width=\"\(num(w))\" height=\"\(num(barHeight - 2))\" "
                    + "fill=\"\(series[j].color)\"><title>\(escape(series[j].name)): \(escape(format(value)))</title></rect>"
                out += "<text x=\"\(num(labelWidth + w + 5))\" y=\"\(num(y + barHeight - 4))\" class=\"value\">\(escape(format(value)))</text>"
            }
        }
        return out + "</svg>"
    }

    /// One bar per row, in one colour.
    static func bars(title: String, items: [(label: String, value: Double)], color: String,
                     format: (Double) -> String) -> String {
        groupedBars(title: title, rows: items.map { ($0.label, [$0.value]) }, series: [ChartSeries(name: title, color: color)],
                    format: format)
    }

    /// Horizontal stacked bars: each row split into its series, the part's number inside when it fits, the total at the end.
    static func stackedBars(title: String, rows: [(label: String, values: [Int])], series: [ChartSeries]) -> String {
        guard !rows.isEmpty else { return empty(title) }
        let maxTotal = max(Double(rows.map { $0.values.reduce(0, +) }.max() ?? 0), 1e-9)
        let plot = width - labelWidth - valueRoom
        let rowHeight = 24.0
        let height = 24 + Double(rows.count) * (rowHeight + 8) + 6
        var out = open(title, height: height) + legend(series, y: 4)
        for (i, row) in rows.enumerated() {
            let y = 24 + Double(i) * (rowHeight + 8) + 4
            out += "<text x=\"\(num(labelWidth - 8))\" y=\"\(num(y + rowHeight / 2 + 4))\" text-anchor=\"end\" class=\"label\">"
                + "<title>\(escape(row.label))</title>\(escape(shortLabel(row.label)))</text>"
            var x = labelWidth
            for (j, v) in row.values.enumerated() where v > 0 {
                let w = plot * Double(v) / maxTotal
                out += "<rect x=\"\(num(x))\" y=\"\(num(y))\" width=\"\(num(w))\" height=\"\(num(rowHeight))\" fill=\"\(series[j].color)\">"
                    + "<title>\(escape(series[j].name)): \(v)</title></rect>"
                let text = ReportHTML.int(v)
                if w >= Double(text.count) * 7 + 6 {
                    out += "<text x=\"\(num(x + w / 2))\" y=\"\(num(y + rowHeight / 2 + 4))\" text-anchor=\"middle\" class=\"inbar\">\(text)</text>"
                }
                x += w
            }
            let total = row.values.reduce(0, +)
            out += "<text x=\"\(num(x + 5))\" y=\"\(num(y + rowHeight / 2 + 4))\" class=\"value\">\(ReportHTML.int(total))</text>"
        }
        return out + "</svg>"
    }
}
