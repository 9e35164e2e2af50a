using ModelZoo.Core.Runs;

namespace ModelZoo.Web.Runs;

/// <summary>
/// What a run page knows from the event stream besides its curves (those are <see cref="Core.Runs.Compare.RunCurves"/>):
/// status, device, the last step and checkpoint. Applying an event twice or out of order is harmless: events at or
/// below the last sequence number are ignored, which is how history and live events are merged.
/// </summary>
public sealed class RunLiveState
{
    public long LastSeq { get; private set; }
    public RunStatus? Status { get; private set; }
    public string? Message { get; private set; }
    public string? Device { get; private set; }
    public StepProgress? LastStep { get; private set; }
    public CheckpointInfo? LastCheckpoint { get; private set; }

    /// <summary>Returns true when the event was new.</summary>
    public bool Apply(RunEvent e)
    {
        if (e.Seq <= LastSeq) return false;
        LastSeq = e.Seq;
        switch (e.Kind)
        {
            case RunEventKind.Step when e.Step is { } s:
                LastStep = s;
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

    public double Progress => LastStep is { } s && s.TotalSteps > 0 ? (double)s.GlobalStep / s.TotalSteps : Status == RunStatus.Succeeded ? 1 : 0;
}
