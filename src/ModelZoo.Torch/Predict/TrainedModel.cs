using System.Text.Json;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Predict;

/// <summary>A run's weights file does not say what it is, or does not load into the architecture it names.</summary>
public sealed class TrainedWeightsException(string message) : Exception(message);

/// <summary>
/// A run's trained model rebuilt from the safetensors file <see cref="Training.TrainedWeightsWriter"/> wrote: the
/// file's own metadata names the architecture, its classes in output order and, for BERT, the config it was built
/// from; the module is rebuilt in that shape and loaded strictly (every key, every shape). The ONNX export and
/// prediction share this, so both serve exactly the weights the run's card describes.
/// </summary>
public sealed class TrainedModel : IDisposable
{
    TrainedModel(ZooModel model, ArchitectureInfo architecture, IReadOnlyList<string>? labels)
    {
        Model = model; Architecture = architecture; Labels = labels;
    }

    /// <summary>In eval mode. Prediction models also have every parameter's <c>requires_grad</c> off, so Grad-CAM's
    /// backward pass reaches only the feature map and never writes a parameter's gradient.</summary>
    public ZooModel Model { get; }
    public ArchitectureInfo Architecture { get; }
    /// <summary>The class names in output order (<c>modelzoo.classes</c>); null when the file names none.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <param name="headShape">The adapted head a VGG entry was built with (pool size, hidden width); the class count
    /// and config come from the weights file.</param>
    /// <param name="frozen">Turn off every parameter's gradient (inference only).</param>
    /// <param name="read">Reads the file's state_dict; default <see cref="WeightsFile.Load"/>. A compressed download
    /// (<see cref="Compression.Int8Weights.Dequantize"/>) passes its own reader and keeps the same metadata.</param>
    /// <exception cref="TrainedWeightsException">The file does not say what it is or does not load; the message says which.</exception>
    public static TrainedModel Load(string weightsPath, ArchitectureOptions headShape, ArchitectureRegistry? registry = null, bool frozen = true,
        Func<string, Dictionary<string, TorchSharp.torch.Tensor>>? read = null)
    {
        registry ??= ArchitectureRegistry.Default;
        var metadata = SafeTensors.ReadMetadata(weightsPath);
        var name = Path.GetFileName(weightsPath);
        if (!metadata.TryGetValue("modelzoo.architecture", out var arch))
            throw new TrainedWeightsException($"{name} does not name its architecture (modelzoo.architecture); only weights a run saved can be used.");
        if (!registry.Contains(arch))
            throw new TrainedWeightsException($"{name} names architecture '{arch}', which this installation does not have.");
        string[]? labels = null;
        if (metadata.TryGetValue("modelzoo.classes", out var classes))
        {
            try { labels = JsonSerializer.Deserialize<string[]>(classes); }
            catch (JsonException e) { throw new TrainedWeightsException($"{name}: modelzoo.classes is not a JSON list of names ({e.Message})."); }
        }
        var build = headShape with { ConfigJson = metadata.GetValueOrDefault("modelzoo.config") ?? headShape.ConfigJson };
        if (labels is { Length: > 0 }) build = build with { NumClasses = labels.Length };

        var weights = read is null ? WeightsFile.Load(weightsPath) : read(weightsPath);
        // Modules saved beside the model (a multitask run's further heads) are not the model's: skip them here.
        if (metadata.TryGetValue(Training.TrainedWeightsWriter.ExtraKey, out var extraJson))
        {
            string[] prefixes;
            try { prefixes = JsonSerializer.Deserialize<string[]>(extraJson) ?? []; }
            catch (JsonException e) { TensorDtypes.DisposeAll(weights.Values); throw new TrainedWeightsException($"{name}: {Training.TrainedWeightsWriter.ExtraKey} is not a JSON list ({e.Message})."); }
            foreach (var key in weights.Keys.Where(k => prefixes.Any(p => k.StartsWith(p + ".", StringComparison.Ordinal))).ToList())
            {
                weights[key].Dispose();
                weights.Remove(key);
            }
        }
        ZooModel? model = null;
        try
        {
            lock (TorchRuntime.ConstructionLock) model = registry.Create(arch, build);
            try { StateDictImporter.Import(model, weights, ImportOptions.Strict); }
            catch (WeightsImportException e) { throw new TrainedWeightsException($"{name} does not load into {arch}: {e.Message}"); }
            model.eval();
            if (frozen)
                foreach (var p in model.parameters()) p.requires_grad = false;
            return new TrainedModel(model, registry.Get(arch), labels);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            TensorDtypes.DisposeAll(weights.Values);
        }
    }

    /// <summary>Whether <see cref="Dispose"/> ran (a cache evicts by disposing).</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Model.Dispose();
    }
}
