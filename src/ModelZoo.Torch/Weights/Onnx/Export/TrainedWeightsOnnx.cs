using System.Text.Json;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx.Export;

/// <summary>
/// A run's trained weights (the safetensors file <see cref="Training.TrainedWeightsWriter"/> writes) as an ONNX model:
/// the file's own metadata says which architecture it is, its classes in output order and, for BERT, the config it was
/// built from; the module is rebuilt in that shape, loaded strictly (every key, every shape), and exported. The labels
/// become the ONNX model's <c>labels</c>.
/// </summary>
public static class TrainedWeightsOnnx
{
    /// <param name="headShape">The adapted head a VGG entry was built with (pool size, hidden width); the class count
    /// and config come from the weights file.</param>
    /// <exception cref="OnnxExportException">The file does not say what it is, does not load into the architecture it
    /// names, or the architecture cannot be exported; the message says which.</exception>
    public static void Save(string weightsPath, string onnxPath, ArchitectureOptions headShape, OnnxExportOptions options, ArchitectureRegistry? registry = null)
    {
        registry ??= ArchitectureRegistry.Default;
        var metadata = SafeTensors.ReadMetadata(weightsPath);
        var name = Path.GetFileName(weightsPath);
        if (!metadata.TryGetValue("modelzoo.architecture", out var arch))
            throw new OnnxExportException($"{name} does not name its architecture (modelzoo.architecture); only weights a run saved can be exported.");
        if (!registry.Contains(arch))
            throw new OnnxExportException($"{name} names architecture '{arch}', which this installation does not have.");
        string[]? labels = null;
        if (metadata.TryGetValue("modelzoo.classes", out var classes))
        {
            try { labels = JsonSerializer.Deserialize<string[]>(classes); }
            catch (JsonException e) { throw new OnnxExportException($"{name}: modelzoo.classes is not a JSON list of names ({e.Message})."); }
        }
        var build = headShape with { ConfigJson = metadata.GetValueOrDefault("modelzoo.config") ?? headShape.ConfigJson };
        if (labels is { Length: > 0 }) build = build with { NumClasses = labels.Length };

        var weights = WeightsFile.Load(weightsPath);
        try
        {
            ZooModel built;
            lock (TorchRuntime.ConstructionLock) built = registry.Create(arch, build);
            using var model = built;
            try { StateDictImporter.Import(model, weights, ImportOptions.Strict); }
            catch (WeightsImportException e) { throw new OnnxExportException($"{name} does not load into {arch}: {e.Message}"); }
            model.eval();
            OnnxExporter.Write(OnnxExporter.Export(model, options with { Labels = options.Labels ?? labels }), onnxPath);
        }
        finally
        {
            TensorDtypes.DisposeAll(weights.Values);
        }
    }
}
