using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The readable text of one raw e-mail (RFC 5322 with MIME): the Subject, a blank line, then the body. Headers are
/// dropped because their routing lines (Received, Message-ID, the SpamAssassin test addresses) identify the corpus a
/// message came from rather than what it says, so a classifier would learn the mail servers. The body is the
/// message's text/plain parts, or its text/html parts with tags and scripts removed when it has no plain text;
/// a plain part that holds HTML markup (common in spam) is treated as HTML too;
/// quoted-printable and base64 are decoded with the part's charset, attachments (non-text parts) are skipped,
/// and runs of spaces and blank lines are collapsed.
/// </summary>
public static partial class EmailText
{
    static EmailText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    const int MaxDepth = 8;

    public static string Extract(string raw)
    {
        var (headers, body) = SplitHeaders(raw.Replace("\r\n", "\n"));
        var subject = Normalise(DecodeWords(Header(headers, "subject") ?? "")).Replace('\n', ' ');
        var text = Normalise(BodyText(headers, body, 0));
        return subject.Length == 0 ? text : text.Length == 0 ? subject : subject + "\n\n" + text;
    }

    /// <summary>Headers (names lower-cased, folded lines joined) and the body after the first blank line.</summary>
    static (List<(string Name, string Value)> Headers, string Body) SplitHeaders(string s)
    {
        var headers = new List<(string, string)>();
        int pos = 0;
        // An mbox separator line ("From sender date") precedes the headers in the SpamAssassin files.
        if (s.StartsWith("From ", StringComparison.Ordinal)) pos = NextLine(s, 0);
        while (pos < s.Length)
        {
            int end = s.IndexOf('\n', pos);
            var line = end < 0 ? s[pos..] : s[pos..end];
            pos = end < 0 ? s.Length : end + 1;
            if (line.Length == 0) break;
            if (line[0] is ' ' or '\t')
            {
                if (headers.Count > 0) headers[^1] = (headers[^1].Item1, headers[^1].Item2 + " " + line.Trim());
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                // Not a header line: the message has no header block, so all of it is body.
                if (headers.Count == 0) return ([], s);
                continue;
            }
            headers.Add((line[..colon].Trim().ToLowerInvariant(), line[(colon + 1)..].Trim()));
        }
        return (headers, pos < s.Length ? s[pos..] : "");
    }

    static int NextLine(string s, int from) { int i = s.IndexOf('\n', from); return i < 0 ? s.Length : i + 1; }

    static string? Header(List<(string Name, string Value)> headers, string name) =>
        headers.FirstOrDefault(h => h.Name == name).Value;

    static string BodyText(List<(string Name, string Value)> headers, string body, int depth)
    {
        var type = (Header(headers, "content-type") ?? "text/plain").Trim();
        var mime = type.Split(';')[0].Trim().ToLowerInvariant();
        if (mime.StartsWith("multipart/", StringComparison.Ordinal) && depth < MaxDepth && Param(type, "boundary") is { Length: > 0 } boundary)
        {
            var parts = SplitParts(body, boundary).Select(p => SplitHeaders(p)).ToList();
            string PartsOf(string wanted) => string.Join("\n\n", parts
                .Where(p => PartType(p.Headers).StartsWith(wanted, StringComparison.Ordinal) && !IsAttachment(p.Headers))
                .Select(p => BodyText(p.Headers, p.Body, depth + 1)).Where(t => t.Trim().Length > 0));
            // multipart/alternative says the same thing twice: the plain part is enough. Other multiparts list
            // distinct parts: take every plain part, nested multiparts too, and HTML only when nothing else reads.
            var plain = PartsOf("text/plain");
            var nested = PartsOf("multipart/");
            var text = string.Join("\n\n", new[] { plain, nested }.Where(t => t.Length > 0));
            return text.Length > 0 ? text : PartsOf("text/html");
        }
        if (mime.StartsWith("multipart/", StringComparison.Ordinal)) return body;
        if (!mime.StartsWith("text/", StringComparison.Ordinal)) return "";
        var decoded = Decode(body, Header(headers, "content-transfer-encoding"), Param(type, "charset"));
        // Much spam sends HTML labelled as plain text (or with no Content-Type at all).
        return mime == "text/html" || LooksLikeHtml().IsMatch(decoded) ? HtmlToText(decoded) : decoded;
    }

    [GeneratedRegex(@"<\s*(html|body|table|td|font|div)\b", RegexOptions.IgnoreCase)]
    private static partial Regex LooksLikeHtml();

    static string PartType(List<(string Name, string Value)> h) => (Header(h, "content-type") ?? "text/plain").Split(';')[0].Trim().ToLowerInvariant();

    static bool IsAttachment(List<(string Name, string Value)> h) =>
        (Header(h, "content-disposition") ?? "").TrimStart().StartsWith("attachment", StringComparison.OrdinalIgnoreCase);

    static IEnumerable<string> SplitParts(string body, string boundary)
    {
        var delimiter = "--" + boundary;
        var lines = body.Split('\n');
        StringBuilder? part = null;
        foreach (var line in lines)
        {
            var l = line.TrimEnd();
            if (l == delimiter + "--") { if (part is not null) yield return part.ToString(); yield break; }
            if (l == delimiter)
            {
                if (part is not null) yield return part.ToString();
                part = new StringBuilder();
                continue;
            }
            part?.Append(line).Append('\n');
        }
        if (part is not null) yield return part.ToString();
    }

    static string? Param(string headerValue, string name)
    {
        var m = Regex.Match(headerValue, $@";\s*{name}\s*=\s*(?:""(?<v>[^""]*)""|(?<v>[^;\s]+))", RegexOptions.IgnoreCase);
        return m.Success ? m.Groups["v"].Value : null;
    }

    static string Decode(string body, string? transfer, string? charset)
    {
        var t = (transfer ?? "").Trim().ToLowerInvariant();
        byte[]? bytes = t switch
        {
            "quoted-printable" => QuotedPrintable(body),
            "base64" => Base64(body),
            _ => null,
        };
        // Without a transfer encoding the package already holds the body as text.
        return bytes is null ? body : CharsetOf(charset).GetString(bytes);
    }

    static Encoding CharsetOf(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset)) return Encoding.Latin1;
        try { return Encoding.GetEncoding(charset.Trim().Trim('"')); }
        catch (ArgumentException) { return Encoding.Latin1; }
    }

    static byte[] QuotedPrintable(string s)
    {
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '=' && i + 1 < s.Length && s[i + 1] == '\n') { i++; continue; } // soft line break
            if (c == '=' && i + 2 < s.Length && Uri.IsHexDigit(s[i + 1]) && Uri.IsHexDigit(s[i + 2]))
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
                continue;
            }
            if (c < 0x80) bytes.Add((byte)c);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return [.. bytes];
    }

    static byte[]? Base64(string s)
    {
        var clean = new string(s.Where(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=').ToArray());
        clean = clean.TrimEnd('=');
        clean += new string('=', (4 - clean.Length % 4) % 4);
        try { return Convert.FromBase64String(clean); }
        catch (FormatException) { return null; }
    }

    /// <summary>RFC 2047 encoded words in a header: <c>=?charset?B|Q?text?=</c>.</summary>
    static string DecodeWords(string s) => EncodedWord().Replace(s, m =>
    {
        var enc = CharsetOf(m.Groups["cs"].Value);
        var payload = m.Groups["t"].Value;
        byte[]? bytes = m.Groups["e"].Value.ToUpperInvariant() == "B" ? Base64(payload) : QuotedPrintable(payload.Replace('_', ' '));
        return bytes is null ? m.Value : enc.GetString(bytes);
    });

    [GeneratedRegex(@"=\?(?<cs>[^?]+)\?(?<e>[BbQq])\?(?<t>[^?]*)\?=")]
    private static partial Regex EncodedWord();

    [GeneratedRegex(@"<(script|style)\b.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();

    [GeneratedRegex(@"<\s*(br|/p|/div|/tr|/h\d|/li|p|div|tr|li)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockTag();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex AnyTag();

    static string HtmlToText(string html)
    {
        var s = ScriptOrStyle().Replace(html, " ");
        s = HtmlComment().Replace(s, " ");
        s = BlockTag().Replace(s, "\n");
        s = AnyTag().Replace(s, " ");
        return WebUtility.HtmlDecode(s);
    }

    [GeneratedRegex(@"[ \t\u00a0\f\v]+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();

    static string Normalise(string s)
    {
        s = Spaces().Replace(s.Replace("\r", ""), " ");
        s = string.Join('\n', s.Split('\n').Select(l => l.Trim()));
        return BlankLines().Replace(s, "\n\n").Trim();
    }
}
