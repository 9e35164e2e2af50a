using System.Text.Json;

namespace ModelZoo.Core.Training;

/// <summary>
/// The loop's own state in a run's checkpoint (<c>&lt;run folder&gt;/checkpoint/state.json</c>), beside the tensors
/// (model and strategy modules, optimiser) that only the trainer reads. Plain JSON so the worker can decide about a
/// resume without TorchSharp. Random state needs no entry: every epoch's shuffle, augmentation and dropout draws are
/// seeded by (run seed, epoch), and the learning rate is a function of the step.
/// </summary>
public sealed record CheckpointState
{
    public const int CurrentFormat = 1;
    public int Format { get; init; } = CurrentFormat;
    public Guid RunId { get; init; }
    public string Strategy { get; init; } = "";
    /// <summary>Epochs completed (0: the state before the first step).</summary>
    public int Epoch { get; init; }
    public int GlobalStep { get; init; }
    /// <summary>The sequence number of the last progress event stored before the checkpoint: a resumed run drops
    /// every later event and records the replayed steps again, so its history has no gap and no duplicate.</summary>
    public long EventSeq { get; init; }
    public double BestValidationAccuracy { get; init; } = -1;
    public int BestEpoch { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    /// <summary>Early stopping ended training at this checkpoint.</summary>
    public bool Stopped { get; init; }
    /// <summary>Seconds of training so far (steps and evaluations), carried across resumes.</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>Seconds spent in steps and examples trained, for the run's examples/s.</summary>
    public double StepSeconds { get; init; }
    public long ExamplesTrained { get; init; }
    public IReadOnlyList<int> ResumedAfterEpochs { get; init; } = [];

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <exception cref="CheckpointUnreadableException">Missing, empty, not JSON, or another format.</exception>
    public static CheckpointState Read(string checkpointDir)
    {
        var file = Path.Combine(checkpointDir, CheckpointFiles.State);
        if (!File.Exists(file)) throw new CheckpointUnreadableException($"{file} is missing.");
        CheckpointState? s;
        try { s = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(file), Json); }
        catch (JsonException e) { throw new CheckpointUnreadableException($"{file} is not a checkpoint state ({e.Message})."); }
        if (s is null) throw new CheckpointUnreadableException($"{file} is empty.");
        if (s.Format != CurrentFormat) throw new CheckpointUnreadableException($"{file} has format {s.Format}; this version reads {CurrentFormat}.");
        return s;
    }
}

/// <summary>The names inside a run's folder that the loop and the worker share.</summary>
public static class CheckpointFiles
{
    public const string Directory = "checkpoint";
    public const string State = "state.json";
    public const string Tensors = "modules.safetensors";
    public const string Optimizer = "optimizer.bin";
    /// <summary>The best validation epoch's model, evaluated on the test split at the end.</summary>
    public const string Best = "best.safetensors";

    /// <summary>The run folder's checkpoint, recovering from a crash between the two renames of a save: the old
    /// checkpoint is used when the new one never got its name. Null when there is none.</summary>
    public static string? Find(string runDir)
    {
        var dir = Path.Combine(runDir, Directory);
        if (System.IO.Directory.Exists(dir)) return dir;
        var old = dir + ".old";
        if (!System.IO.Directory.Exists(old)) return null;
        System.IO.Directory.Move(old, dir);
        return dir;
    }
}

/// <summary>A checkpoint that cannot be resumed from; the message says which file and why.</summary>
public sealed class CheckpointUnreadableException(string message, Exception? inner = null) : Exception(message, inner);
