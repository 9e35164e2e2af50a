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
    public static TrainedWeights Save(ZooModel model, TrainingJob job, string architecture, string? configJson)
    {
        var name = job.WeightsFileName ?? throw new ArgumentException("The job names no weights file.", nameof(job));
        var path = Path.Combine(job.OutputDir, name);
        SafeTensors.Save(path, model.state_dict(), ScalarType.Float32, Metadata(job, architecture, configJson));
        // Hashed from the disk, after the rename: the record describes the bytes a download will send.
        return new TrainedWeights(name, Sha256.OfFile(path), new FileInfo(path).Length);
    }

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
        return metadata;
    }
}
