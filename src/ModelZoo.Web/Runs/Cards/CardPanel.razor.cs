using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Cards;
using ModelZoo.Infrastructure.Runs.Cards;
using ModelZoo.Web.Components.Shared;

namespace ModelZoo.Web.Runs.Cards;

public partial class CardPanel : ComponentBase
{
    [Parameter, EditorRequired] public Guid RunId { get; set; }
    /// <summary>Whether this user may write the run's person-written sections (its owner, or an admin); the API checks
    /// the same rule, so a hidden editor is a convenience, not the guard.</summary>
    [Parameter] public bool MayEdit { get; set; } = true;
    /// <summary>Named in the version list as who saved ("saved ... by ada"); null when accounts are off.</summary>
    [Parameter] public string? EditorName { get; set; }
    [Inject] CardService Cards { get; set; } = default!;
    [Inject] MarkdownRenderer Markdown { get; set; } = default!;

    CardView? _card;
    bool _editing, _saving, _saved;
    string? _intendedUse, _ethical, _message;
    // The version the open editor started from: a save names it, so a newer save in between is a conflict, not lost.
    int _baseVersion;
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    Guid _loadedFor;

    protected override async Task OnParametersSetAsync()
    {
        if (_loadedFor == RunId && _card is not null) return;
        _loadedFor = RunId;
        _card = await Cards.GetAsync(RunId);
    }

    async Task ShowVersionAsync(int version)
    {
        _card = await Cards.GetAsync(RunId, version) ?? _card;
        _message = null;
    }

    async Task StartEditingAsync()
    {
        if (!MayEdit) return;
        // Always edit on top of the latest text, whichever version is being read.
        _errors = new Dictionary<string, string>();
        _message = null;
        if (await Cards.GetAsync(RunId) is not { } latest) return;
        _card = latest;
        _baseVersion = latest.LatestVersion;
        _intendedUse = latest.Author.IntendedUse;
        _ethical = latest.Author.EthicalConsiderations;
        _editing = true;
    }

    void StopEditing()
    {
        _editing = false;
        _errors = new Dictionary<string, string>();
        _message = null;
    }

    async Task SaveAsync()
    {
        _saving = true;
        try
        {
            if (!MayEdit) return;
            var result = await Cards.SaveAsync(RunId, new CardAuthorText(_intendedUse, _ethical), _baseVersion, savedBy: EditorName);
            _errors = result.Errors;
            _saved = result.Status is CardSaveStatus.Saved;
            switch (result.Status)
            {
                case CardSaveStatus.Saved:
                    _card = result.Card;
                    _editing = false;
                    _message = $"Saved as version {result.Card!.LatestVersion}.";
                    break;
                case CardSaveStatus.Conflict:
                    // Keep the author's text in the boxes; the card below shows what the other save wrote.
                    _card = result.Card ?? _card;
                    _message = result.Message;
                    break;
                default:
                    _message = result.Message;
                    break;
            }
        }
        finally { _saving = false; }
    }

    static string VersionLabel(CardVersionInfo v, int latest) =>
        $"{v.Version}: saved {v.SavedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC{(v.SavedBy is { } by ? $" by {by}" : "")}{(v.Version == latest ? " (latest)" : "")}";
}
