namespace ModelZoo.Core.Runs;

public enum RunEventKind { Status, Step, Epoch }

/// <summary>One optimiser step. Published for every step; dashboards decimate, not the trainer.</summary>
public sealed record StepProgress(
    int Epoch, int Step, int StepsPerEpoch, int GlobalStep, int TotalSteps,
    double Loss, double LearningRate, double SamplesPerSecond, double? EtaSeconds);

/// <summary>End-of-epoch metrics on the training and validation splits.</summary>
public sealed record EpochMetrics(
    int Epoch, int Epochs, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy, double Seconds);

public sealed record StatusChange(RunStatus Status, string? Message = null, string? Device = null);

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
}

/// <summary>What the trainer reports to. The worker's sink numbers, stores and relays the events.</summary>
public interface IRunProgress
{
    void Status(StatusChange status);
    void Step(StepProgress step);
    void Epoch(EpochMetrics epoch);
}

/// <summary>Relays stored events to live listeners (the SignalR hub and Blazor circuits, in the web host).</summary>
public interface IRunEventBroadcaster
{
    Task PublishAsync(RunEvent e, CancellationToken ct = default);
}
