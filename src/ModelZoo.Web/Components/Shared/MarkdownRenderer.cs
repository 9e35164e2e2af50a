using Markdig;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using Microsoft.AspNetCore.Components;

namespace ModelZoo.Web.Components.Shared;

/// <summary>
/// Markdown to HTML for text the portal did not write itself (cards, catalogue READMEs, a person's notes): raw HTML is
/// disabled, and a link or image whose address is not http, https, mailto or relative is shown as its source text
/// instead. Disabling HTML alone leaves <c>[x](javascript:...)</c> and <c>&lt;data:...&gt;</c> as live links.
/// </summary>
public sealed class MarkdownRenderer
{
    readonly MarkdownPipeline _pipeline = new MarkdownPipelineBuilder().UseYamlFrontMatter().UsePipeTables().UseEmphasisExtras().DisableHtml().Build();

    public MarkupString Render(string? markdown)
    {
        markdown ??= "";
        var document = Markdown.Parse(markdown, _pipeline);
        foreach (var link in document.Descendants<LinkInline>().ToList())
            if (!LinkAddresses.IsAllowed(link.Url)) link.ReplaceBy(new LiteralInline(Source(markdown, link)));
        foreach (var link in document.Descendants<AutolinkInline>().ToList())
            if (!link.IsEmail && !LinkAddresses.IsAllowed(link.Url)) link.ReplaceBy(new LiteralInline(Source(markdown, link)));
        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        _pipeline.Setup(renderer);
        renderer.Render(document);
        return new(writer.ToString());
    }

    static string Source(string markdown, Inline inline) =>
        inline.Span.Start >= 0 && inline.Span.End < markdown.Length && inline.Span.Length > 0
            ? markdown.Substring(inline.Span.Start, inline.Span.Length)
            : "";
}

/// <summary>Which link addresses rendered Markdown may keep.</summary>
public static class LinkAddresses
{
    static readonly string[] Schemes = ["http", "https", "mailto"];

    /// <summary>
    /// True for http, https and mailto addresses and for relative ones (no scheme). Browsers ignore tabs, newlines and
    /// other control characters inside a scheme (<c>java&#9;script:</c> runs), so they are removed before the scheme
    /// is read; a colon after the first '/', '?' or '#' belongs to a relative path, not to a scheme.
    /// </summary>
    public static bool IsAllowed(string? url)
    {
        if (string.IsNullOrEmpty(url)) return true;
        var cleaned = new string(url.Where(c => !char.IsControl(c) && !char.IsWhiteSpace(c)).ToArray());
        var colon = cleaned.IndexOf(':');
        if (colon < 0) return true;
        var end = cleaned.IndexOfAny(['/', '?', '#']);
        if (end >= 0 && end < colon) return true;
        var scheme = cleaned[..colon];
        return Schemes.Any(s => string.Equals(s, scheme, StringComparison.OrdinalIgnoreCase));
    }
}
