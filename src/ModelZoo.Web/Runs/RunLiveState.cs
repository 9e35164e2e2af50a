using ModelZoo.Core.Runs;

namespace ModelZoo.Web.Runs;

/// <summary>
/// What a run page knows from the event stream: status, the last step, and every named value as a series (per
/// step by global step, per epoch by epoch), so a strategy's own values chart without code for them here. Applying
/// an event twice or out of order is harmless: events at or below the last sequence number are ignored, which is how
/// history and live events are merged.
/// </summary>
public sealed class RunLiveState
{
    readonly Dictionary<string, List<(double X, double Y)>> _steps = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<(double X, double Y)>> _epochs = new(StringComparer.Ordinal);
    readonly List<EpochMetrics> _epochList = [];

    public long LastSeq { get; private set; }
    public RunStatus? Status { get; private set; }
    public string? Message { get; private set; }
    public string? Device { get; private set; }
    public StepProgress? LastStep { get; private set; }
    public CheckpointInfo? LastCheckpoint { get; private set; }
    public IReadOnlyList<EpochMetrics> Epochs => _epochList;

    /// <summary>A per-step value's points (global step, value); empty when the run has not reported it.</summary>
    public IReadOnlyList<(double X, double Y)> StepSeries(string name) => _steps.TryGetValue(name, out var l) ? l : [];

    /// <summary>A per-epoch value's points (epoch, value).</summary>
    public IReadOnlyList<(double X, double Y)> EpochSeries(string name) => _epochs.TryGetValue(name, out var l) ? l : [];

    public IEnumerable<string> StepNames => _steps.Keys;
    public IEnumerable<string> EpochNames => _epochs.Keys;

    /// <summary>Returns true when the event was new.</summary>
    public bool Apply(RunEvent e)
    {
        if (e.Seq <= LastSeq) return false;
        LastSeq = e.Seq;
        switch (e.Kind)
        {
            case RunEventKind.Step when e.Step is { } s:
                LastStep = s;
                foreach (var (name, v) in s.Values) Add(_steps, name, s.GlobalStep, v);
                break;
            case RunEventKind.Epoch when e.Epoch is { } ep:
                _epochList.Add(ep);
                foreach (var (name, v) in ep.Values) Add(_epochs, name, ep.Epoch, v);
                break;
            case RunEventKind.Status when e.Status is { } st:
                Status = st.Status;
                Message = st.Message;
                Device = st.Device ?? Device;
                break;
            case RunEventKind.Checkpoint when e.Checkpoint is { } c:
                LastCheckpoint = c;
                break;
        }
        return true;
    }

    static void Add(Dictionary<string, List<(double, double)>> series, string name, double x, double y)
    {
        if (!series.TryGetValue(name, out var list)) series[name] = list = [];
        list.Add((x, y));
    }

    public double Progress => LastStep is { } s && s.TotalSteps > 0 ? (double)s.GlobalStep / s.TotalSteps : Status == RunStatus.Succeeded ? 1 : 0;
}
