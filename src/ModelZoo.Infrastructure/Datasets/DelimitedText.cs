using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>One record of a delimited file: <see cref="Row"/> counts data rows from 1 (the header is row 0) and
/// <see cref="Line"/> is the physical line it starts on, which differs once a quoted field holds newlines.</summary>
public sealed record DelimitedRecord(int Row, int Line, string[] Fields)
{
    public string Where => Row == 0 ? $"the header (line {Line})" : Row == Line - 1 ? $"row {Row}" : $"row {Row} (line {Line})";
}

/// <summary>A structural fault that stops parsing: what follows cannot be split into fields reliably.</summary>
public sealed class DelimitedFormatException(int row, int line, string reason) : Exception(reason)
{
    public int Row { get; } = row;
    public int Line { get; } = line;
}

/// <summary>
/// CSV (RFC 4180) and TSV reading: fields separated by the delimiter, records by CRLF or LF; a field in double quotes
/// may hold delimiters, newlines and doubled quotes (<c>""</c>). A quote inside an unquoted field is kept as a
/// character, as most spreadsheet programs write and read it; text after a closing quote and a quote never closed
/// are errors. Blank lines are skipped. A UTF-8 byte-order mark is dropped.
/// </summary>
public static class DelimitedText
{
    /// <summary>The delimiter a file name implies (.tsv and .tab: tab; .csv: comma), else the one the header line
    /// suggests: a tab when it holds tabs and no commas.</summary>
    public static char DelimiterFor(string fileName, string text)
    {
        var ext = Path.GetExtension(fileName).ToLowerInvariant();
        if (ext is ".tsv" or ".tab") return '\t';
        if (ext == ".csv") return ',';
        int nl = text.IndexOf('\n');
        var header = nl < 0 ? text : text[..nl];
        return header.Contains('\t') && !header.Contains(',') ? '\t' : ',';
    }

    /// <summary>Decodes strict UTF-8 (no replacement characters); the error names the byte offset and its line.</summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string fileName)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        else if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
            throw new DatasetRejectedException(fileName, "is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8");
        var chars = ArrayPool<char>.Shared.Rent(Math.Max(1, bytes.Length));
        try
        {
            // isFinalBlock: false tells a character cut off at the end (NeedMoreData) from invalid bytes (InvalidData).
            var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: false);
            if (status == OperationStatus.Done) return new string(chars, 0, written);
            // read is the offset of the first byte that is not valid UTF-8 (or of a sequence cut off at the end).
            int line = 1 + bytes[..read].Count((byte)'\n');
            var shown = Convert.ToHexString(bytes.Slice(read, Math.Min(4, bytes.Length - read)));
            throw new DatasetRejectedException(fileName, status == OperationStatus.NeedMoreData
                ? $"is not valid UTF-8: it ends inside a multi-byte character at byte offset {read} (line {line})"
                : $"is not valid UTF-8: byte offset {read} (line {line}) starts with 0x{shown}; save the file as UTF-8");
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }

    /// <summary>The records, header first (row 0). Throws <see cref="DelimitedFormatException"/> on a structural fault.</summary>
    public static IEnumerable<DelimitedRecord> Read(string text, char delimiter)
    {
        int i = 0, line = 1, row = 0, n = text.Length;
        var fields = new List<string>();
        var field = new StringBuilder();
        while (i < n)
        {
            int startLine = line;
            // A record: fields until an unquoted newline or the end.
            fields.Clear();
            bool recordEnded = false;
            bool blank = true;
            while (!recordEnded)
            {
                field.Clear();
                if (i < n && text[i] == '"')
                {
                    blank = false;
                    int quoteLine = line;
                    i++;
                    while (true)
                    {
                        if (i >= n) throw new DelimitedFormatException(row, startLine,
                            $"{Where(row, startLine)}: the quoted field {fields.Count + 1} opened on line {quoteLine} is never closed");
                        char c = text[i++];
                        if (c == '"')
                        {
                            if (i < n && text[i] == '"') { field.Append('"'); i++; continue; }
                            break;
                        }
                        if (c == '\n') line++;
                        field.Append(c);
                    }
                    // After the closing quote only a delimiter, a newline or the end may follow.
                    if (i < n && text[i] == '\r' && (i + 1 == n || text[i + 1] == '\n')) i++;
                    if (i < n && text[i] != delimiter && text[i] != '\n')
                        throw new DelimitedFormatException(row, startLine,
                            $"{Where(row, startLine)}: field {fields.Count + 1} has text after its closing quote (a quote inside a quoted field must be doubled: \"\")");
                }
                else
                {
                    while (i < n && text[i] != delimiter && text[i] != '\n') field.Append(text[i++]);
                    if (field.Length > 0 && field[^1] == '\r' && (i >= n || text[i] == '\n')) field.Length--;
                    if (field.Length > 0) blank = false;
                }
                fields.Add(field.ToString());
                if (i >= n) recordEnded = true;
                else if (text[i] == delimiter) { i++; blank = false; }
                else { i++; line++; recordEnded = true; } // '\n'
            }
            if (blank && fields.Count == 1) continue;
            yield return new DelimitedRecord(row, startLine, [.. fields]);
            row++;
        }
    }

    static string Where(int row, int line) => new DelimitedRecord(row, line, []).Where;
}
