using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx.Export;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>Why a run's ONNX model could not be had.</summary>
public enum RunOnnxFailure { NoWeights, NotExportable }

/// <summary>The run's ONNX file (<see cref="Path"/>, to send as <see cref="FileName"/>), or why there is none.</summary>
public sealed record RunOnnxExport(string? Path, string? FileName, RunOnnxFailure? Failure, string? Problem);

/// <summary>
/// A succeeded run's trained model as ONNX (<see cref="OnnxExporter"/>): built from the run's weights file, with the
/// catalogue entry's preprocessing at the run's input size (or, for text, its tokenizer facts at the run's token limit)
/// and the run's class names in the model's metadata. Written once beside the weights file (<c>run-&lt;id&gt;.v&lt;format&gt;.onnx</c>)
/// and served from there as <c>run-&lt;id&gt;.onnx</c>; the weights file never changes after the run (its size is checked on every lookup), so
/// neither does the export.
/// </summary>
public sealed class RunOnnxExporter(RunOutputs outputs, ZooCatalog catalog, ArchitectureRegistry registry)
{
    readonly SemaphoreSlim _gate = new(1, 1);

    public static string OnnxFileNameOf(Guid runId) => $"run-{runId:N}.onnx";

    public async Task<RunOnnxExport> ExportAsync(RunView run, CancellationToken ct = default)
    {
        var weights = outputs.WeightsOf(run);
        if (weights.Path is not { } weightsPath) return new(null, null, RunOnnxFailure.NoWeights, weights.Problem);
        var fileName = OnnxFileNameOf(run.Id);
        // Kept under the exporter's format version: a file an earlier exporter wrote is written again, not served.
        var target = System.IO.Path.Combine(outputs.DirOf(run.Id), $"run-{run.Id:N}.v{OnnxExporter.FormatVersion}.onnx");
        if (File.Exists(target)) return new(target, fileName, null, null);

        if (catalog.ManifestOf(run.ModelId) is not { } m)
            return new(null, null, RunOnnxFailure.NotExportable,
                $"Run {run.Id} trained catalogue entry '{run.ModelId}', which this installation no longer has: the preprocessing the ONNX " +
                "model must record is unknown. The safetensors download still holds the trained weights.");
        var h = run.Request.HyperParameters;
        var inputSize = h.ImageSize > 0 ? h.ImageSize : m.Preprocessing.InputSize;
        var options = new OnnxExportOptions(
            inputSize,
            Preprocessing: m.Preprocessing,
            Text: m.Text is { } t ? t with { MaxLength = Math.Min(h.MaxTokens, t.MaxLength) } : null,
            Metadata: new Dictionary<string, string>
            {
                ["modelzoo.run"] = run.Id.ToString(),
                ["modelzoo.entry"] = m.Id,
                ["modelzoo.dataset"] = run.DatasetId,
                ["modelzoo.strategy"] = run.Strategy,
                ["modelzoo.weights_sha256"] = weights.Weights!.Sha256,
            });

        // One export at a time: each builds the whole model, and two of a VGG would hold two copies of 500 MB.
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (File.Exists(target)) return new(target, fileName, null, null);
            await Task.Run(() => TrainedWeightsOnnx.Save(weightsPath, target, catalog.OptionsOf(m), options, registry), ct).ConfigureAwait(false);
            return new(target, fileName, null, null);
        }
        catch (Exception e) when (e is OnnxExportException or WeightsFormatException)
        {
            return new(null, null, RunOnnxFailure.NotExportable, $"Run {run.Id}'s model cannot be exported to ONNX: {e.Message}");
        }
        finally
        {
            _gate.Release();
        }
    }
}
