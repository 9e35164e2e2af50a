using Markdig;
using Microsoft.AspNetCore.Components;

namespace ModelZoo.Web.Components.Shared;

/// <summary>Markdown to HTML with raw HTML disabled: card text comes from runs and manifests, never trusted markup.</summary>
public sealed class MarkdownRenderer
{
    readonly MarkdownPipeline _pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseEmphasisExtras().DisableHtml().Build();

    public MarkupString Render(string? markdown) => new(Markdown.ToHtml(markdown ?? "", _pipeline));
}
