using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Tests.Components;

public class MarkdownRendererTests
{
    static string Html(string md) => new MarkdownRenderer().Render(md).Value;

    [Theory]
    [InlineData("[docs](https://example.org/a)", "href=\"https://example.org/a\"")]
    [InlineData("[docs](http://example.org)", "href=\"http://example.org\"")]
    [InlineData("[mail](mailto:team@example.org)", "href=\"mailto:team@example.org\"")]
    [InlineData("[curve](curves/loss.png)", "href=\"curves/loss.png\"")]
    [InlineData("[run](/runs/1?tab=card#top)", "href=\"/runs/1?tab=card#top\"")]
    [InlineData("![loss](loss.png)", "src=\"loss.png\"")]
    [InlineData("<https://example.org>", "href=\"https://example.org\"")]
    public void KeepsHttpMailtoAndRelativeLinks(string md, string expected) => Html(md).ShouldContain(expected);

    [Theory]
    [InlineData("[click](javascript:alert(1))", "[click](javascript:alert(1))")]
    [InlineData("[click](JavaScript:alert(1))", "[click](JavaScript:alert(1))")]
    [InlineData("[click](jav&#x61;script:alert(1))", "[click](jav&amp;#x61;script:alert(1))")]
    [InlineData("[click](java\tscript:alert(1))", "[click](java\tscript:alert(1))")]
    [InlineData("[click](data:text/html;base64,PHNjcmlwdD4=)", "[click](data:text/html;base64,PHNjcmlwdD4=)")]
    [InlineData("![x](data:image/svg+xml;base64,PHN2Zz4=)", "![x](data:image/svg+xml;base64,PHN2Zz4=)")]
    [InlineData("[click][r]\n\n[r]: javascript:alert(1)", "[click][r]")]
    [InlineData("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;")]
    [InlineData("[click](vbscript:msgbox)", "[click](vbscript:msgbox)")]
    public void RendersOtherSchemesAsTheirSourceText_NotAsLinks(string md, string visible)
    {
        var html = Html(md);
        html.ShouldNotContain("href=", Case.Insensitive);
        html.ShouldNotContain("src=", Case.Insensitive);
        html.ShouldContain(visible, Case.Sensitive, "shown as what the author wrote");
    }

    [Fact]
    public void AnUnsafeLinkLeavesTheRestOfTheTextRendered()
    {
        var html = Html("See **this** [bad](javascript:x) and [good](https://example.org).");
        html.ShouldContain("<strong>this</strong>");
        html.ShouldContain("[bad](javascript:x)");
        html.ShouldContain("<a href=\"https://example.org\">good</a>");
    }

    [Fact]
    public void RawHtmlStaysText() => Html("<script>alert(1)</script>").ShouldNotContain("<script>");

    [Fact]
    public void ACardsHubMetadataBlock_IsNotShown_AndTheCardStartsAtItsTitle()
    {
        var html = Html("---\nlicense: mit\nmodel-index:\n- name: x\n---\n\n# Title\n\nText.");
        html.ShouldNotContain("model-index");
        html.ShouldNotContain("<hr");
        html.TrimStart().ShouldStartWith("<h1");
    }
}
