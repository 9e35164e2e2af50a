using Microsoft.AspNetCore.Components;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Web.Datasets;

/// <summary>
/// Shows an image dataset's augmentation profile and edits it. The limits are <see cref="AugmentationProfile.Validate"/>'s,
/// the same the datasets API and a run's override use, so each message reads the same everywhere; a refused value
/// is shown under its field and nothing is written.
/// </summary>
public partial class AugmentationPanel : ComponentBase
{
    [Inject] DatasetStore Store { get; set; } = default!;

    [Parameter, EditorRequired] public DatasetInfo Dataset { get; set; } = default!;
    /// <summary>Raised with the new facts after a save, so the page shows them.</summary>
    [Parameter] public EventCallback<DatasetInfo> Saved { get; set; }

    AugmentationProfile Profile => AugmentationProfile.For(Dataset);

    bool _editing, _flip;
    double _minCrop, _rotation, _jitter;
    IReadOnlyDictionary<string, string> _errors = new Dictionary<string, string>();
    string? _error, _saved;

    bool Has(string field) => _errors.ContainsKey(field);
    string? Err(string field) => _errors.GetValueOrDefault(field);

    /// <summary>Starts from the profile the dataset trains with now, the fallback included.</summary>
    void Edit()
    {
        var p = Profile;
        (_flip, _minCrop, _rotation, _jitter) = (p.HorizontalFlip, p.MinCropScale, p.MaxRotationDegrees, p.ColorJitter);
        _errors = new Dictionary<string, string>();
        (_error, _saved, _editing) = (null, null, true);
    }

    void Cancel() => (_editing, _errors, _error) = (false, new Dictionary<string, string>(), null);

    async Task Save()
    {
        var profile = new AugmentationProfile(_flip, _minCrop, _rotation, _jitter);
        _errors = profile.Validate();
        _error = null;
        if (_errors.Count > 0) return;
        DatasetInfo info;
        try { info = Store.UpdateAugmentation(Dataset.Id, profile); }
        catch (AugmentationRejectedException e) { _errors = e.Errors; return; }
        catch (KeyNotFoundException) { _error = $"Dataset '{Dataset.Id}' no longer exists; nothing was saved."; return; }
        catch (InvalidOperationException e) { _error = e.Message; return; }
        catch (IOException e) { _error = $"The profile could not be written ({e.Message}); the dataset keeps its previous one."; return; }
        _editing = false;
        _saved = "Saved. Runs use it from their next start, queued ones included; a run training now keeps the profile it loaded.";
        await Saved.InvokeAsync(info);
    }
}
