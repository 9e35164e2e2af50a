using System.Globalization;
using Microsoft.AspNetCore.Components;

namespace ModelZoo.Web.Components.Shared;

/// <summary>Pieces the hand-drawn SVG charts share.</summary>
public static class Svg
{
    public static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>
    /// An SVG text element. Razor reserves <c>&lt;text&gt;</c> inside code blocks, so it is written as markup; scoped
    /// CSS needs the component's b-* attribute, which raw markup does not get, so the two classes are styled inline.
    /// The content is encoded.
    /// </summary>
    public static MarkupString Text(double x, double y, string anchor, string cls, string content, string? transform = null) => new(
        $"<text {(transform is null ? $"x=\"{F(x)}\" y=\"{F(y)}\"" : $"transform=\"{transform}\"")} text-anchor=\"{anchor}\" font-size=\"{(cls == "tick" ? 11 : 12)}\" " +
        $"fill=\"{(cls == "tick" ? "#4b5563" : "#374151")}\">{System.Net.WebUtility.HtmlEncode(content)}</text>");

    /// <summary>A vertical axis title, rotated, centred on <paramref name="y"/>.</summary>
    public static MarkupString VerticalTitle(double x, double y, string content) =>
        Text(0, 0, "middle", "axis", content, $"translate({F(x)},{F(y)}) rotate(-90)");
}
