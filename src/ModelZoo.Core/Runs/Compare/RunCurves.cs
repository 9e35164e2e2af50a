namespace ModelZoo.Core.Runs.Compare;

/// <summary>One recorded value with every x a chart may use: global step, (fractional) epoch, and seconds since
/// training began.</summary>
public readonly record struct CurvePoint(double Step, double Epoch, double Elapsed, double Value)
{
    public double X(CurveAxis axis) => axis switch { CurveAxis.Epoch => Epoch, CurveAxis.WallTime => Elapsed, _ => Step };
}

/// <summary>What a curve's x-axis counts.</summary>
public enum CurveAxis { Step, Epoch, WallTime }

/// <summary>
/// A run's curves, built from its event stream (history, then live events). Every named value becomes a series, per
/// step or per epoch, so a strategy's own values need no code here. Events at or below the last sequence number are
/// ignored, which is how stored history and live events merge without duplicates.
/// </summary>
public sealed class RunCurves
{
    readonly Dictionary<string, List<CurvePoint>> _steps = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<CurvePoint>> _epochs = new(StringComparer.Ordinal);

    public long LastSeq { get; private set; }
    public RunStatus? Status { get; private set; }
    public StepProgress? LastStep { get; private set; }

    /// <summary>Seconds since training began at the latest step (resumed runs continue the count).</summary>
    public double? Elapsed => LastStep?.Elapsed;

    public IReadOnlyList<CurvePoint> StepSeries(string name) => _steps.TryGetValue(name, out var l) ? l : [];
    public IReadOnlyList<CurvePoint> EpochSeries(string name) => _epochs.TryGetValue(name, out var l) ? l : [];
    public IEnumerable<string> StepNames => _steps.Keys;
    public IEnumerable<string> EpochNames => _epochs.Keys;

    public static RunCurves From(IEnumerable<RunEvent> events)
    {
        var c = new RunCurves();
        foreach (var e in events) c.Apply(e);
        return c;
    }

    /// <summary>Returns true when the event was new.</summary>
    public bool Apply(RunEvent e)
    {
        if (e.Seq <= LastSeq) return false;
        LastSeq = e.Seq;
        switch (e.Kind)
        {
            case RunEventKind.Step when e.Step is { } s:
                LastStep = s;
                var epoch = s.Epoch - 1 + (s.StepsPerEpoch > 0 ? (double)s.Step / s.StepsPerEpoch : 1);
                foreach (var (name, v) in s.Values) Add(_steps, name, new CurvePoint(s.GlobalStep, epoch, s.Elapsed, v));
                break;
            case RunEventKind.Epoch when e.Epoch is { } ep:
                // An epoch's values belong at the end of its last step: on a step axis that is epoch × steps per epoch,
                // on a wall-time axis the last step's time (evaluation adds a little, which no event records).
                var steps = LastStep is { StepsPerEpoch: > 0 } ls ? (double)ep.Epoch * ls.StepsPerEpoch : ep.Epoch;
                var elapsed = LastStep?.Elapsed ?? 0;
                foreach (var (name, v) in ep.Values) Add(_epochs, name, new CurvePoint(steps, ep.Epoch, elapsed, v));
                break;
            case RunEventKind.Status when e.Status is { } st:
                Status = st.Status;
                break;
        }
        return true;
    }

    static void Add(Dictionary<string, List<CurvePoint>> series, string name, CurvePoint p)
    {
        if (!series.TryGetValue(name, out var list)) series[name] = list = [];
        list.Add(p);
    }
}
