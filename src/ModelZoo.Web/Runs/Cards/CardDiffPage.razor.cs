using Microsoft.AspNetCore.Components;
using MudBlazor;
using ModelZoo.Core.Cards;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs.Cards;

public partial class CardDiffPage : ComponentBase
{
    [SupplyParameterFromQuery(Name = "a")] public string? A { get; set; }
    [SupplyParameterFromQuery(Name = "b")] public string? B { get; set; }
    [SupplyParameterFromQuery(Name = "av")] public int? VersionA { get; set; }
    [SupplyParameterFromQuery(Name = "bv")] public int? VersionB { get; set; }
    [Inject] CardService Cards { get; set; } = default!;
    [Inject] MarkdownRenderer Markdown { get; set; } = default!;

    CardDiffView? _diff;
    string? _problem;
    bool _showSame;

    protected override async Task OnParametersSetAsync()
    {
        _diff = null;
        _problem = null;
        if (!Guid.TryParse(A, out var a) || !Guid.TryParse(B, out var b))
        {
            _problem = "Name two cards in the address: /cards/diff?a=<run id>&b=<run id>, with av and bv for versions of their written sections.";
            return;
        }
        (_diff, _problem) = await Cards.DiffAsync(a, VersionA, b, VersionB);
    }

    int Count(SectionChange c) => _diff?.Sections.Count(s => s.Change == c) ?? 0;

    static string VersionText(CardSide s) => s.Version == s.LatestVersion ? $"(version {s.Version}, the latest)" : $"(version {s.Version} of {s.LatestVersion})";

    static string ChangeText(SectionDiff s) => s.Change switch
    {
        SectionChange.Changed => $"changed: +{s.Added} −{s.Removed} lines",
        SectionChange.Added => "only in B",
        SectionChange.Removed => "only in A",
        _ => "the same",
    };

    static Color ChipColour(SectionChange c) => c switch
    {
        SectionChange.Changed => Color.Warning,
        SectionChange.Added => Color.Success,
        SectionChange.Removed => Color.Error,
        _ => Color.Default,
    };

    static string LineClass(LineChange c) => c switch { LineChange.Added => "added", LineChange.Removed => "removed", _ => "same" };

    static string Mark(LineChange c) => c switch { LineChange.Added => "+ ", LineChange.Removed => "− ", _ => "  " };

    /// <summary>A section's text as Markdown that renders on its own; the front matter is YAML, so it is shown as code.</summary>
    static string Renderable(SectionDiff s, string? text) =>
        text is null ? "" : s.Heading == CardDiff.FrontMatter ? $"```yaml\n{text}\n```" : text;

    static string Slug(string heading) =>
        new string(heading.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
}
