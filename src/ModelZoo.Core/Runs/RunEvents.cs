using System.Text.Json.Serialization;

namespace ModelZoo.Core.Runs;

public enum RunEventKind { Status, Step, Epoch, Checkpoint }

/// <summary>
/// The names of the values the shared loop reports; a strategy adds its own (declared in its description's
/// <c>Metrics</c>). Events carry values by name, so a new strategy's curve needs no new field or column
/// (as W&amp;B's <c>log({...})</c> and MLflow's <c>log_metric</c>).
/// </summary>
public static class MetricNames
{
    public const string Loss = "loss";
    public const string LearningRate = "lr";
    public const string TrainLoss = "train_loss";
    public const string TrainAccuracy = "train_acc";
    public const string ValLoss = "val_loss";
    public const string ValAccuracy = "val_acc";

    /// <summary>Labels of the loop's own values; a strategy's come from its description.</summary>
    public static readonly IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string>
    {
        [Loss] = "Training loss (per step)",
        [LearningRate] = "Learning rate (head)",
        [TrainLoss] = "Training loss (epoch mean)",
        [TrainAccuracy] = "Training accuracy",
        [ValLoss] = "Validation loss",
        [ValAccuracy] = "Validation accuracy",
    };
}

/// <summary>One optimiser step. Published for every step; dashboards decimate, not the trainer.</summary>
/// <param name="Elapsed">Seconds since training began (resumed runs continue the count), for wall-time axes.</param>
/// <param name="Values">Named values of this step: at least <c>loss</c> and <c>lr</c>, plus the strategy's own.</param>
public sealed record StepProgress(
    int Epoch, int Step, int StepsPerEpoch, int GlobalStep, int TotalSteps,
    double SamplesPerSecond, double? EtaSeconds, double Elapsed, IReadOnlyDictionary<string, double> Values)
{
    [JsonIgnore] public double Loss => this[MetricNames.Loss];
    [JsonIgnore] public double LearningRate => this[MetricNames.LearningRate];
    public double this[string name] => Values.TryGetValue(name, out var v) ? v : double.NaN;

    /// <summary>A step with its loss and learning rate (and any other values).</summary>
    public static StepProgress Of(int epoch, int step, int stepsPerEpoch, int globalStep, int totalSteps, double loss, double learningRate,
        double samplesPerSecond, double? etaSeconds, double elapsed = 0, IReadOnlyDictionary<string, double>? others = null)
    {
        var values = new Dictionary<string, double> { [MetricNames.Loss] = loss, [MetricNames.LearningRate] = learningRate };
        if (others is not null) foreach (var (k, v) in others) values[k] = v;
        return new StepProgress(epoch, step, stepsPerEpoch, globalStep, totalSteps, samplesPerSecond, etaSeconds, elapsed, values);
    }
}

/// <summary>End-of-epoch values by name: <c>train_loss</c>, <c>train_acc</c>, <c>val_loss</c>, <c>val_acc</c> and
/// whatever the strategy evaluates (a target domain's accuracy, a domain classifier's).</summary>
public sealed record EpochMetrics(int Epoch, int Epochs, double Seconds, IReadOnlyDictionary<string, double> Values)
{
    [JsonIgnore] public double TrainLoss => this[MetricNames.TrainLoss];
    [JsonIgnore] public double TrainAccuracy => this[MetricNames.TrainAccuracy];
    [JsonIgnore] public double ValLoss => this[MetricNames.ValLoss];
    [JsonIgnore] public double ValAccuracy => this[MetricNames.ValAccuracy];
    public double this[string name] => Values.TryGetValue(name, out var v) ? v : double.NaN;

    /// <summary>An epoch's four classification values, plus any others.</summary>
    public static EpochMetrics Of(int epoch, int epochs, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy, double seconds,
        IReadOnlyDictionary<string, double>? others = null)
    {
        var values = new Dictionary<string, double>
        {
            [MetricNames.TrainLoss] = trainLoss, [MetricNames.TrainAccuracy] = trainAccuracy,
            [MetricNames.ValLoss] = valLoss, [MetricNames.ValAccuracy] = valAccuracy,
        };
        if (others is not null) foreach (var (k, v) in others) values[k] = v;
        return new EpochMetrics(epoch, epochs, seconds, values);
    }
}

public sealed record StatusChange(RunStatus Status, string? Message = null, string? Device = null);

/// <summary>A checkpoint was written at the end of <see cref="Epoch"/> (0: the state before the first step).</summary>
public sealed record CheckpointInfo(int Epoch, int GlobalStep);

/// <summary>
/// The typed progress event, as stored, as sent over SignalR and as shown in Blazor. <see cref="Seq"/> increases
/// by one per run, so a client that receives history and live events can drop duplicates.
/// </summary>
public sealed record RunEvent
{
    public Guid RunId { get; init; }
    public long Seq { get; init; }
    public RunEventKind Kind { get; init; }
    public DateTimeOffset At { get; init; }
    public StepProgress? Step { get; init; }
    public EpochMetrics? Epoch { get; init; }
    public StatusChange? Status { get; init; }
    public CheckpointInfo? Checkpoint { get; init; }
}

/// <summary>What the trainer reports to. The worker's sink numbers, stores and relays the events without making the
/// training thread wait for the database or for clients.</summary>
public interface IRunProgress
{
    void Status(StatusChange status);
    void Step(StepProgress step);
    void Epoch(EpochMetrics epoch);
    void Checkpoint(CheckpointInfo checkpoint) { }

    /// <summary>Blocks until every event reported so far is stored, and returns the last one's sequence number; the
    /// loop calls it before writing a checkpoint, so a resumed run's history has no gap.</summary>
    long Flush() => 0;
}

/// <summary>Relays stored events to live listeners (the SignalR hub and Blazor circuits, in the web host).</summary>
public interface IRunEventBroadcaster
{
    Task PublishAsync(RunEvent e, CancellationToken ct = default);
}
