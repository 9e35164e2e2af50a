using ModelZoo.Core.Runs;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>Passes a run's events on to <paramref name="inner"/> (the real recorder, or nothing) and keeps what a
/// benchmark reads from them: steps, the epochs' own seconds, and a callback at each epoch's end (on the training
/// thread, right after validation, before the checkpoint).</summary>
sealed class ObservedProgress(IRunProgress inner, Action<EpochMetrics>? onEpoch = null) : IRunProgress
{
    public int Steps { get; private set; }
    public double EpochSeconds { get; private set; }
    public List<EpochMetrics> Epochs { get; } = [];

    public void Status(StatusChange status) => inner.Status(status);

    public void Step(StepProgress step)
    {
        Steps++;
        inner.Step(step);
    }

    public void Epoch(EpochMetrics epoch)
    {
        EpochSeconds += epoch.Seconds;
        Epochs.Add(epoch);
        inner.Epoch(epoch);
        onEpoch?.Invoke(epoch);
    }

    public void Checkpoint(CheckpointInfo checkpoint) => inner.Checkpoint(checkpoint);
    public long Flush() => inner.Flush();
}
