using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Runs.Predict;

namespace ModelZoo.Web.Runs;

public partial class TryItPanel
{
    [Inject] public RunPredictor Predictor { get; set; } = default!;
    [Parameter, EditorRequired] public Guid RunId { get; set; }

    DatasetModality? _modality;
    string? _refusal, _error, _text;
    bool _busy;
    RunPrediction? _prediction;

    protected override async Task OnParametersSetAsync()
    {
        var (_, modality, refusal) = await Predictor.CheckAsync(RunId);
        _modality = modality;
        _refusal = refusal?.Problem;
    }

    async Task OnImageChosenAsync(IBrowserFile? file)
    {
        if (file is null) return;
        var max = Predictor.Options.MaxImageBytes;
        if (file.Size > max)
        {
            Show(PredictOutcome.Refused(PredictFailure.TooLarge, Predictor.TooLargeMessage(file.Size)));
            return;
        }
        await RunAsync(async () =>
        {
            using var buffer = new MemoryStream();
            await using (var stream = file.OpenReadStream(maxAllowedSize: max)) await stream.CopyToAsync(buffer);
            return await Predictor.PredictImageAsync(RunId, buffer.ToArray());
        });
    }

    /// <summary>The same as choosing a file with these bytes (tests and drag-and-drop).</summary>
    public Task TryImageAsync(byte[] bytes) => RunAsync(() => Predictor.PredictImageAsync(RunId, bytes));

    Task PredictTextAsync() => RunAsync(() => Predictor.PredictTextAsync(RunId, _text));

    async Task RunAsync(Func<Task<PredictOutcome>> predict)
    {
        _busy = true;
        _error = null;
        StateHasChanged();
        try { Show(await predict()); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Bad input comes back as a refusal; anything else (a read that failed, a model that would not run) is shown
            // too, since an exception escaping an event handler would end the user's circuit.
            _prediction = null;
            _error = $"The prediction failed: {e.Message}";
        }
        finally
        {
            _busy = false;
            StateHasChanged();
        }
    }

    void Show(PredictOutcome outcome)
    {
        _prediction = outcome.Prediction;
        _error = outcome.Prediction is null ? outcome.Problem : null;
    }
}
