using ModelZoo.Torch.Models;
using ModelZoo.Torch.Predict;

namespace ModelZoo.Torch.Weights.Onnx.Export;

/// <summary>
/// A run's trained weights (the safetensors file <see cref="Training.TrainedWeightsWriter"/> writes) as an ONNX model:
/// the file's own metadata says which architecture it is, its classes in output order and, for BERT, the config it was
/// built from; the module is rebuilt in that shape, loaded strictly (every key, every shape; <see cref="TrainedModel"/>,
/// which prediction shares), and exported. The labels become the ONNX model's <c>labels</c>.
/// </summary>
public static class TrainedWeightsOnnx
{
    /// <param name="headShape">The adapted head a VGG entry was built with (pool size, hidden width); the class count
    /// and config come from the weights file.</param>
    /// <exception cref="OnnxExportException">The file does not say what it is, does not load into the architecture it
    /// names, or the architecture cannot be exported; the message says which.</exception>
    public static void Save(string weightsPath, string onnxPath, ArchitectureOptions headShape, OnnxExportOptions options, ArchitectureRegistry? registry = null)
    {
        TrainedModel trained;
        try { trained = TrainedModel.Load(weightsPath, headShape, registry, frozen: false); }
        catch (TrainedWeightsException e) { throw new OnnxExportException(e.Message); }
        using (trained)
            OnnxExporter.Write(OnnxExporter.Export(trained.Model, options with { Labels = options.Labels ?? trained.Labels }), onnxPath);
    }
}
