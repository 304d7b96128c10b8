// RecordIterator: the records of a profile file one at a time, for the tools that do not
// need the batch path's speed (explain, diff).

/// One input record: its JSON bytes, or why it could not be read as JSON.
package struct InputRecord {
    /// 1-based record number.
    package var number: Int
    /// The record's JSON text (`nil` when `error` is set).
    package var bytes: [UInt8]?
    /// Why the record could not be turned into JSON (a CSV row of the wrong width, ...).
    package var error: String?
}

/// Reads the records of a file, in order, through the same readers as a batch run.
package struct RecordIterator {
    private var source: any RecordSource
    private var chunk = RecordChunk()
    private var index = 0

    package init(path: String, format: ProfileFormat, schema: ProfileSchema? = nil, csv: CSVReading = CSVReading()) throws(ProfileReadError) {
        source = try makeRecordSource(path: path, format: format, typing: CSVTyping(schema: schema, reading: csv))
    }

    /// The next record, or `nil` at the end.
    package mutating func next() throws(ProfileReadError) -> InputRecord? {
        while index >= chunk.records.count {
            guard let c = try source.nextChunk() else { return nil }
            chunk = c
            index = 0
        }
        let r = chunk.records[index]
        index += 1
        if let error = r.error { return InputRecord(number: r.number, bytes: nil, error: error) }
        return InputRecord(number: r.number, bytes: Array(chunk.bytes[r.start..<r.end]), error: nil)
    }
}
