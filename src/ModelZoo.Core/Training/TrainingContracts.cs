using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Training;

/// <summary>Everything a trainer needs for one run, resolved by the worker before training starts.</summary>
public sealed record TrainingJob(
    Guid RunId,
    RunRequest Request,
    ModelManifest Model,
    LoadedDataset Data,
    string? WeightsPath,
    string OutputDir)
{
    /// <summary>A text model's tokenizer files, resolved by the worker; null for image models.</summary>
    public TextModelFiles? Text { get; init; }

    /// <summary>The name, in <see cref="OutputDir"/>, under which the trainer saves the trained model (F32
    /// safetensors) once training and the test evaluation are done, recording it in the result; null: nothing is
    /// saved (pretraining writes its own entry file).</summary>
    public string? WeightsFileName { get; init; }

    /// <summary>For strategies that adapt to another domain: the target, its classes aligned with <see cref="Data"/>'s
    /// and its training labels hidden (-1), so no code can learn from them (<see cref="DomainAlignment"/>).</summary>
    public LoadedDataset? Target { get; init; }

    /// <summary>The further tasks' datasets (<c>RunRequest.TaskDatasetIds</c>), in order; empty for single-task runs.</summary>
    public IReadOnlyList<LoadedDataset> Tasks { get; init; } = [];

    /// <summary>The finished run a strategy learns from (<c>RunRequest.SourceRunId</c>): its trained weights file and
    /// the catalogue entry it was trained from; null when the strategy takes none.</summary>
    public SourceRunModel? SourceRun { get; init; }

    /// <summary>Write a checkpoint into <see cref="OutputDir"/> after every epoch (the portal's runs); off, the best
    /// epoch's weights are kept in memory and nothing is written but the weights file.</summary>
    public bool Checkpoint { get; init; }

    /// <summary>Continue from the checkpoint in <see cref="OutputDir"/> instead of starting afresh.</summary>
    public bool Resume { get; init; }

    /// <summary>Where strategies may cache per-example features across runs (keyed by weights, data and
    /// preprocessing); null: no cache.</summary>
    public string? FeatureCacheDir { get; init; }

    /// <summary>The sha256 of the starting weights, for keys of caches that depend on them; null for a random init.</summary>
    public string? WeightsSha256 { get; init; }

    /// <summary>Where the model's mean image (<see cref="Preprocessing.MeanImage"/>) is on this machine, resolved by
    /// the worker from the entry's folder; null when the manifest names none.</summary>
    public string? MeanImagePath { get; init; }
}

/// <summary>A succeeded run's trained model as a strategy loads it: the safetensors file the run saved (it names its
/// architecture and classes) and the manifest of the entry it started from (for the head's shape).</summary>
public sealed record SourceRunModel(Guid RunId, string WeightsPath, ModelManifest Model, IReadOnlyList<string> ClassNames, string DatasetId)
{
    /// <summary>The run's <c>HyperParameters.ImageSize</c> (0: the model's own): the input size its model learnt at.</summary>
    public int ImageSize { get; init; }
    /// <summary>The entry's mean image on this machine, when its preprocessing subtracts one.</summary>
    public string? MeanImagePath { get; init; }
    /// <summary>The run's recorded test accuracy; null when unknown.</summary>
    public double? TestAccuracy { get; init; }
}

/// <summary>Where a text model's vocabulary and config are on this machine, and how to tokenise for it.</summary>
/// <param name="ConfigPath">null: the architecture's built-in default config.</param>
public sealed record TextModelFiles(string VocabPath, string? ConfigPath, bool Lowercase, bool? StripAccents, int MaxLength);

/// <summary>What the worker records about a finished training, besides its metrics.</summary>
public sealed record TrainingOutcome(RunResult Result, string Device, int Threads, string SoftwareVersions);

/// <summary>Trains one run. Implemented with TorchSharp in ModelZoo.Torch; the worker only sees this.</summary>
public interface IRunTrainer
{
    /// <summary>The device runs will use, e.g. "CPU (2 threads)" or "CUDA:0".</summary>
    string Device { get; }

    /// <exception cref="OperationCanceledException">When <paramref name="ct"/> is cancelled (checked every step).</exception>
    /// <exception cref="TrainingDivergedException">When the loss stops being finite.</exception>
    TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct);
}

/// <summary>The loss became NaN or infinite; the run is failed with this message.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
