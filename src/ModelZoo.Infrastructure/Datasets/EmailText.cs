using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using MimeKit;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// The readable text of one raw e-mail (RFC 5322 with MIME): the Subject, a blank line, then the body. Headers are
/// dropped because their routing lines (Received, Message-ID, the SpamAssassin test addresses) identify the corpus a
/// message came from rather than what it says, so a classifier would learn the mail servers. MimeKit parses the
/// message (multipart structure, quoted-printable, base64, RFC 2047 encoded words); the body is the message's
/// text/plain parts, or its text/html parts turned into text by an HTML5 parser (AngleSharp) when it has no plain
/// text. A plain part that holds HTML markup (common in spam) is treated as HTML too; attachments and non-text parts
/// (forwarded messages included) are skipped, and runs of spaces and blank lines are collapsed.
/// </summary>
public static partial class EmailText
{
    // Declared charsets such as windows-1252, gb2312 and ks_c_5601-1987 are code pages .NET has only through this provider.
    static EmailText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>Multiparts nested deeper than this are not read: no real message needs it, and it bounds the walk.</summary>
    const int MaxDepth = 8;

    public static string Extract(string raw)
    {
        // The package stores each message as text, not bytes; UTF-8 gives MimeKit back exactly that text for every
        // part that is not transfer-encoded (see TextOf) and for 8-bit header values.
        var bytes = Encoding.UTF8.GetBytes(raw);
        MimeMessage message;
        try { message = MimeMessage.Load(new MemoryStream(bytes, writable: false)); }
        catch (FormatException)
        {
            // No header block at all (the first line is not a header): all of it is body, as plain text.
            return Normalise(PlainOrHtml(raw, html: false));
        }
        var subject = Normalise(message.Subject ?? "").Replace('\n', ' ');
        var text = Normalise(message.Body is null ? "" : BodyText(message.Body, 0));
        return subject.Length == 0 ? text : text.Length == 0 ? subject : subject + "\n\n" + text;
    }

    static string BodyText(MimeEntity entity, int depth) => entity switch
    {
        Multipart multipart => depth < MaxDepth ? MultipartText(multipart, depth) : "",
        TextPart part => PlainOrHtml(TextOf(part), part.ContentType.IsMimeType("text", "html")),
        _ => "", // attachments' bodies, images, forwarded messages (message/rfc822)
    };

    static string MultipartText(Multipart multipart, int depth)
    {
        // A multipart without a boundary cannot be split: MimeKit keeps its whole body as the preamble, and that body
        // is what the sender wrote.
        if (multipart.Count == 0 && string.IsNullOrEmpty(multipart.Boundary)) return PlainOrHtml(multipart.Preamble ?? "", html: false);
        var parts = multipart.Where(p => !p.IsAttachment).ToList();
        string Join(Func<MimeEntity, bool> wanted) => string.Join("\n\n", parts.Where(wanted)
            .Select(p => BodyText(p, depth + 1)).Where(t => t.Trim().Length > 0));
        // multipart/alternative says the same thing more than once: its plain part is enough, when it has one (a nested
        // multipart/related of HTML and images is another rendering of it). Other multiparts list distinct parts: take
        // every plain part and nested multipart in the order written, and HTML only when nothing else reads.
        var plain = Join(p => p.ContentType.IsMimeType("text", "plain"));
        if (plain.Length > 0 && multipart.ContentType.IsMimeType("multipart", "alternative")) return plain;
        var text = Join(p => p.ContentType.IsMimeType("text", "plain") || p is Multipart);
        return text.Length > 0 ? text : Join(p => p.ContentType.IsMimeType("text", "html"));
    }

    /// <summary>
    /// The part's text. Transfer-encoded parts (base64, quoted-printable, uuencode) are bytes in the declared charset
    /// (ISO-8859-1 when MimeKit does not know it; MimeKit's own guess, UTF-8 or else ISO-8859-1, when none is
    /// declared). Other parts are the package's text as it was, whatever charset they declare: it was already decoded
    /// once, and decoding its UTF-8 again as, say, ISO-8859-1 would garble every accent.
    /// </summary>
    static string TextOf(TextPart part)
    {
        if (part.ContentTransferEncoding is not (ContentEncoding.Base64 or ContentEncoding.QuotedPrintable or ContentEncoding.UUEncode))
            return part.GetText(Encoding.UTF8);
        if (part.ContentType.CharsetEncoding is { } declared) return part.GetText(declared);
        return string.IsNullOrWhiteSpace(part.ContentType.Charset) ? part.Text : part.GetText(Encoding.Latin1);
    }

    // Much spam sends HTML labelled as plain text (or with no Content-Type at all).
    static string PlainOrHtml(string text, bool html) => html || LooksLikeHtml().IsMatch(text) ? HtmlToText(text) : text;

    [GeneratedRegex(@"<\s*(html|body|table|td|font|div)\b", RegexOptions.IgnoreCase)]
    private static partial Regex LooksLikeHtml();

    /// <summary>
    /// Elements whose content is never shown as text: code, styles, and the fallbacks for frames and plug-ins, which
    /// an HTML5 parser keeps as raw markup (a browser shows the frame instead).
    /// </summary>
    static readonly HashSet<string> Hidden = new(StringComparer.OrdinalIgnoreCase) { "script", "style", "template", "iframe", "noframes", "noembed" };

    /// <summary>Elements that start and end a line when shown (a br ends one).</summary>
    static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "hr", "title",
    };

    /// <summary>Elements shown apart from their neighbours on the same line.</summary>
    static readonly HashSet<string> Cells = new(StringComparer.OrdinalIgnoreCase) { "td", "th" };

    /// <summary>
    /// The text a reader sees: AngleSharp parses the HTML as a browser would (entities decoded, comments, scripts and
    /// styles out of the text, unclosed tags closed); block elements break lines, table cells are spaced apart,
    /// inline elements join their text as a browser shows it. The walk keeps its own stack because spam nests tags
    /// thousands deep.
    /// </summary>
    static string HtmlToText(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        var sb = new StringBuilder(html.Length / 2);
        // Each element worth a separator is visited twice: before its children and again (Edge set) after them.
        var stack = new Stack<(INode Node, char? Edge)>();
        stack.Push((document, null));
        while (stack.Count > 0)
        {
            var (node, edge) = stack.Pop();
            if (edge is { } after) { sb.Append(after); continue; }
            if (node is IText text) { sb.Append(text.Data); continue; }
            if (node is IElement element)
            {
                var name = element.LocalName;
                if (Hidden.Contains(name)) continue;
                if (name == "br") { sb.Append('\n'); continue; }
                char? separator = Blocks.Contains(name) ? '\n' : Cells.Contains(name) ? ' ' : null;
                if (separator is { } before) { sb.Append(before); stack.Push((node, before)); }
            }
            else if (node is not IDocument) continue; // comments, doctype, processing instructions
            for (var child = node.LastChild; child is not null; child = child.PreviousSibling) stack.Push((child, null));
        }
        return sb.ToString();
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
