using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Weights;

/// <summary>
/// Starts a run from the entry's imported weights (<see cref="TrainingJob.WeightsPath"/>, resolved by the worker from
/// a completed import), or leaves the random initialisation when there are none. The import already proved the file
/// fits the architecture; importing again here still validates everything first, so a file changed on disk since
/// fails the run with the importer's key lists rather than training from half-copied weights.
/// </summary>
public sealed class FileWeightsInitializer : IWeightsInitializer
{
    public IReadOnlyList<string> Initialise(ZooModel model, TrainingJob job)
    {
        if (job.WeightsPath is null) return [];
        // An ONNX graph is mapped onto the model by its walker, whose report names the head and counters it lacks.
        if (WeightsFile.DetectFormat(job.WeightsPath) == WeightsFormat.Onnx) return Onnx.OnnxImporter.Import(job.WeightsPath, model).Report.Messages;
        var stateDict = WeightsFile.Load(job.WeightsPath);
        try
        {
            // Default options: a checkpoint whose head has another class count keeps its backbone; the trainer
            // replaces the head for the dataset's classes right after this anyway.
            // A masked-LM entry fine-tuned as a classifier drops the MLM head and starts the pooler fresh; the report
            // says so, and the run's card repeats it.
            return StateDictImporter.Import(model, stateDict).Messages;
        }
        finally { TensorDtypes.DisposeAll(stateDict.Values); }
    }
}
