using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Saves a run's trained model as the user takes it away: the whole state_dict (backbone and the new head) under the
/// reference key names, so it loads with <c>safetensors.torch.load_file</c> + <c>load_state_dict</c> into the
/// torchvision / transformers module, and F32, so nothing the run learned is rounded. The header's metadata says
/// which run made it and what its outputs mean, so the file explains itself without the portal.
/// </summary>
public static class TrainedWeightsWriter
{
    /// <summary>Writes <see cref="TrainingJob.WeightsFileName"/> in the job's output folder (a temp file renamed into
    /// place, see <see cref="SafeTensors.Save"/>) and returns its name, sha256 and size.</summary>
    /// <param name="architecture">The architecture the run trained (a masked-LM entry trains <c>bert</c>).</param>
    /// <param name="configJson">The config the model was built from, for config-driven architectures.</param>
    /// <param name="extra">Modules saved beside the model under their prefix (further tasks' heads); the metadata lists
    /// the prefixes (<c>modelzoo.extra</c>), so loading the model alone skips them.</param>
    public static TrainedWeights Save(ZooModel model, TrainingJob job, string architecture, string? configJson,
        IEnumerable<(string Prefix, nn.Module Module)>? extra = null)
    {
        var name = job.WeightsFileName ?? throw new ArgumentException("The job names no weights file.", nameof(job));
        var path = Path.Combine(job.OutputDir, name);
        var tensors = new Dictionary<string, Tensor>(model.state_dict());
        var metadata = Metadata(job, architecture, configJson);
        var prefixes = new List<string>();
        foreach (var (prefix, module) in extra ?? [])
        {
            if (string.IsNullOrEmpty(prefix) || prefix.Contains('.') || tensors.Keys.Any(k => k.StartsWith(prefix + ".", StringComparison.Ordinal)))
                throw new ArgumentException($"Extra module prefix '{prefix}' is empty, dotted or clashes with the model's keys.", nameof(extra));
            prefixes.Add(prefix);
            foreach (var (key, value) in module.state_dict()) tensors[$"{prefix}.{key}"] = value;
        }
        if (prefixes.Count > 0) metadata[ExtraKey] = JsonSerializer.Serialize(prefixes);
        SafeTensors.Save(path, tensors, ScalarType.Float32, metadata);
        // Hashed from the disk, after the rename: the record describes the bytes a download will send.
        return new TrainedWeights(name, Sha256.OfFile(path), new FileInfo(path).Length);
    }

    /// <summary>Metadata naming the prefixes of modules saved beside the model (a JSON list).</summary>
    public const string ExtraKey = "modelzoo.extra";

    /// <summary>safetensors metadata is a map of strings: lists and configs are stored as JSON text.</summary>
    public static Dictionary<string, string> Metadata(TrainingJob job, string architecture, string? configJson)
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["modelzoo.run"] = job.RunId.ToString(),
            ["modelzoo.entry"] = job.Model.Id,
            ["modelzoo.architecture"] = architecture,
            ["modelzoo.dataset"] = job.Data.Info.Id,
            ["modelzoo.strategy"] = job.Request.Strategy.ToString(),
            // Output i of the head is class i: the order the run trained with.
            ["modelzoo.classes"] = JsonSerializer.Serialize(job.Data.Info.ClassNames),
        };
        if (configJson is not null) metadata["modelzoo.config"] = configJson;
        // A run with several tasks: each further task's dataset and classes, in the order of its saved head.
        if (job.Tasks.Count > 0)
            metadata["modelzoo.tasks"] = JsonSerializer.Serialize(job.Tasks.Select(t => new { dataset = t.Info.Id, classes = t.Info.ClassNames }));
        return metadata;
    }
}
