using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Weights.Onnx;

/// <summary>What an ONNX import did: the importer's report, and where each initialiser went.</summary>
/// <param name="Report">As the checkpoint importer reports it: tensors copied, head initialised fresh, keys the file lacks.</param>
/// <param name="Mapped">Each state_dict key with the initialiser and node it came from.</param>
/// <param name="UnusedInitializers">Initialisers no node reads (imported nowhere).</param>
public sealed record OnnxImportResult(ImportReport Report, IReadOnlyList<OnnxMappedTensor> Mapped, IReadOnlyList<string> UnusedInitializers);

/// <summary>
/// Imports the weights of an ONNX file into a <see cref="ZooModel"/>: reads and checks the file
/// (<see cref="OnnxModel"/>), maps the graph onto the model's state_dict keys by its structure (a walker per family:
/// <see cref="OnnxResNetWalker"/>, <see cref="OnnxBertWalker"/>), then copies through <see cref="StateDictImporter"/>, so validation, head reset and
/// the report are the checkpoint importer's. Every refusal comes before the first copy: the model is left as it was.
/// </summary>
public static class OnnxImporter
{
    /// <summary>
    /// The file's weights under the model's keys (CPU tensors; the caller disposes them) and the mapping that put them
    /// there. Nothing is copied into <paramref name="model"/>.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file is truncated, not ONNX, or holds an operator or attribute the importer does not understand.</exception>
    /// <exception cref="WeightsImportException">The graph is not one the walkers understand, or does not fit the model.</exception>
    public static (Dictionary<string, Tensor> StateDict, OnnxMapping Mapping) ReadStateDict(string path, ZooModel model) =>
        ReadStateDict(OnnxModel.Read(path), model);

    /// <summary>As <see cref="ReadStateDict(string, ZooModel)"/>, for a model already read (from a file, or from a
    /// resource embedded in an assembly: <see cref="EmbeddedResources"/>).</summary>
    public static (Dictionary<string, Tensor> StateDict, OnnxMapping Mapping) ReadStateDict(OnnxModel onnx, ZooModel model)
    {
        var mapping = model switch
        {
            ResNet => OnnxResNetWalker.Map(onnx, model),
            Bert bert => OnnxBertWalker.Map(onnx, bert),
            _ => throw new WeightsImportException($"{Path.GetFileName(onnx.Path)}: the ONNX importer maps ResNet and BERT graphs; {model.Architecture} has no graph walker yet. Nothing was imported."),
        };
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var m in mapping.Mapped)
            {
                var t = onnx.LoadInitializer(m.Initializer);
                if (m.Transposed)
                {
                    // A MatMul weight is [in, out]; the Linear's is [out, in]. contiguous(): a copy in the key's layout,
                    // as a checkpoint would hold it.
                    using var stored = t;
                    t = stored.t().contiguous();
                }
                state.Add(m.Key, t);
            }
        }
        catch
        {
            TensorDtypes.DisposeAll(state.Values);
            throw;
        }
        return (state, mapping);
    }

    /// <summary>
    /// Imports <paramref name="path"/> into <paramref name="model"/>. A file without a classifier (the walkers map
    /// backbones) leaves a freshly initialised head, as a backbone checkpoint does; BatchNorm's
    /// <c>num_batches_tracked</c> counters, which ONNX does not store, keep the model's values. A group the model
    /// declares optional (<see cref="ZooModel.FreshIfAbsentPrefixes"/>: the pooler of the classifier a run fine-tunes,
    /// which arctic-embed-xs's graph lacks) may be wholly absent and starts fresh, as from a checkpoint. Any other key
    /// the file lacks is an error.
    /// </summary>
    public static OnnxImportResult Import(string path, ZooModel model) => Import(OnnxModel.Read(path), model);

    /// <summary>As <see cref="Import(string, ZooModel)"/>, for a model already read.</summary>
    public static OnnxImportResult Import(OnnxModel onnx, ZooModel model)
    {
        var path = onnx.Path;
        var (state, mapping) = ReadStateDict(onnx, model);
        try
        {
            bool InHead(string key) => key.StartsWith(model.ClassifierPrefix + ".", StringComparison.Ordinal);
            var keys = model.state_dict().Keys.ToList();
            var absentGroups = model.FreshIfAbsentPrefixes
                .Where(p => keys.Where(k => k.StartsWith(p, StringComparison.Ordinal)).All(k => !state.ContainsKey(k))).ToList();
            bool Optional(string key) => absentGroups.Any(p => key.StartsWith(p, StringComparison.Ordinal));
            var lacking = keys
                .Where(k => !state.ContainsKey(k) && !InHead(k) && !Optional(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
                .ToList();
            if (lacking.Count > 0)
                throw new WeightsImportException($"{Path.GetFileName(path)} does not fit {model.Architecture}: the graph holds no tensor for " +
                    $"{lacking.Count} {(lacking.Count == 1 ? "key" : "keys")} ({string.Join(", ", lacking.Take(StateDictImporter.MaxListed))}" +
                    $"{(lacking.Count > StateDictImporter.MaxListed ? ", ..." : "")}). Nothing was imported.", missing: lacking);

            var report = StateDictImporter.Import(model, state, new ImportOptions(ResetHeadOnMismatch: true, AllowMissing: true, FreshIfAbsent: absentGroups.Count > 0));
            if (mapping.Constants.Count > 0)
                report = report with
                {
                    Messages = [.. report.Messages, $"{mapping.Constants.Count} initialisers are constants the graph computes with, checked and not imported: " +
                                                   string.Join(", ", mapping.Constants.Take(StateDictImporter.MaxListed).Select(c => $"{c.Initializer} ({c.Meaning})")) +
                                                   (mapping.Constants.Count > StateDictImporter.MaxListed ? ", ..." : "")],
                };
            if (mapping.UnusedInitializers.Count > 0)
                report = report with
                {
                    Messages = [.. report.Messages, $"{mapping.UnusedInitializers.Count} initialisers no node reads, not imported: " +
                                                   string.Join(", ", mapping.UnusedInitializers.Take(StateDictImporter.MaxListed))],
                };
            return new OnnxImportResult(report, mapping.Mapped, mapping.UnusedInitializers);
        }
        finally
        {
            TensorDtypes.DisposeAll(state.Values);
        }
    }
}
