namespace ModelZoo.Core.Runs.Queue;

/// <summary>The last step a run reported, and when it was recorded (its ETA was true at that moment).</summary>
public sealed record LatestStep(StepProgress Step, DateTimeOffset At);

/// <summary>How far a running run has got, from its latest step.</summary>
public sealed record QueueProgress(int Epoch, int Epochs, int GlobalStep, int TotalSteps)
{
    public double Fraction => TotalSteps > 0 ? (double)GlobalStep / TotalSteps : 0;
}

/// <summary>One row of the queue view. Times are seconds so the JSON reads plainly; null means not known.</summary>
/// <param name="Position">1 = next to start; null unless queued.</param>
/// <param name="WaitSeconds">For a queued run: the estimated wait before it starts, or null when any run ahead of it
/// has no estimate (it is never guessed).</param>
/// <param name="ElapsedSeconds">For a running run: wall time since it first started (a resumed run's includes the
/// time the portal was down).</param>
/// <param name="EtaSeconds">For a running run: the trainer's estimate at its latest step, less the time since.</param>
/// <param name="DurationSeconds">For a finished run: start to finish; null when it never started (cancelled while queued).</param>
public sealed record QueueEntry(
    RunView Run, int? Position, double? WaitSeconds, double? ElapsedSeconds, QueueProgress? Progress, double? EtaSeconds,
    double? DurationSeconds)
{
    public bool Resumed => Run.Resumes > 0;
}

/// <summary>The queue view: running runs, queued runs in the order the worker takes them, then recent finished ones.</summary>
public sealed record QueueBoard(IReadOnlyList<QueueEntry> Running, IReadOnlyList<QueueEntry> Queued, IReadOnlyList<QueueEntry> Finished)
{
    /// <summary>
    /// Builds the view. <paramref name="active"/> must be every queued and running run, unfiltered: a queued run's
    /// position and wait depend on all the runs ahead of it, not only on those the filter shows.
    /// </summary>
    /// <param name="finished">Recent finished runs (already limited by the caller); the filter is applied here too.</param>
    /// <param name="steps">The latest step of runs that have one (running runs, and queued runs that were interrupted
    /// and wait to resume).</param>
    public static QueueBoard Build(IEnumerable<RunView> active, IEnumerable<RunView> finished,
        IReadOnlyDictionary<Guid, LatestStep> steps, QueueFilter filter, DateTimeOffset now)
    {
        var activeList = active.ToList();
        var running = activeList.Where(r => r.Status == RunStatus.Running).OrderBy(r => r.StartedAt ?? r.CreatedAt).ToList();
        // The worker claims the oldest queued run first (RunWorker.ClaimNextAsync); QueuePosition says the same.
        var queued = activeList.Where(r => r.Status == RunStatus.Queued)
            .OrderBy(r => r.QueuePosition ?? int.MaxValue).ThenBy(r => r.CreatedAt).ToList();

        // A running run's estimate runs down from its latest step. A queued run's (one interrupted and waiting to
        // resume) does not, since it is not training; it resumes from its last checkpoint, so its estimate is a floor.
        double? Remaining(RunView r)
        {
            if (!steps.TryGetValue(r.Id, out var last) || last.Step.EtaSeconds is not { } eta || !double.IsFinite(eta)) return null;
            var since = r.Status == RunStatus.Running ? Math.Max(0, (now - last.At).TotalSeconds) : 0;
            return Math.Max(0, eta - since);
        }

        var runningRows = running.Select(r => new QueueEntry(r, null, null,
            r.StartedAt is { } s ? Math.Max(0, (now - s).TotalSeconds) : null,
            steps.TryGetValue(r.Id, out var last) ? ProgressOf(last.Step, r) : null,
            Remaining(r), null)).ToList();

        // One worker trains one run at a time (RunWorker awaits each run), so a queued run waits for the sum of what
        // is left of every run ahead of it. A run ahead with no estimate (a fresh queued run has none until its first
        // step) makes the sum unknown from there on: the page says so rather than under-stating the wait.
        double? ahead = running.Aggregate((double?)0, (sum, r) => sum + Remaining(r));
        var queuedRows = new List<QueueEntry>(queued.Count);
        for (var i = 0; i < queued.Count; i++)
        {
            var r = queued[i];
            queuedRows.Add(new QueueEntry(r, r.QueuePosition ?? i + 1, ahead, null, null, null, null));
            ahead += Remaining(r);
        }

        var finishedRows = finished.Where(r => r.Status.IsTerminal())
            .OrderByDescending(r => r.FinishedAt ?? r.CreatedAt)
            .Select(r => new QueueEntry(r, null, null, null, null, null,
                r is { StartedAt: { } s, FinishedAt: { } f } ? Math.Max(0, (f - s).TotalSeconds) : null))
            .ToList();

        return new QueueBoard(
            runningRows.Where(e => filter.Matches(e.Run)).ToList(),
            queuedRows.Where(e => filter.Matches(e.Run)).ToList(),
            finishedRows.Where(e => filter.Matches(e.Run)).ToList());
    }

    static QueueProgress ProgressOf(StepProgress s, RunView r) =>
        new(s.Epoch, s.StepsPerEpoch > 0 && s.TotalSteps > 0 ? (int)Math.Ceiling((double)s.TotalSteps / s.StepsPerEpoch) : r.Request.HyperParameters.Epochs,
            s.GlobalStep, s.TotalSteps);
}

/// <summary>
/// What the queue view is built from, as read from the store: every queued and running run, recent finished runs
/// (already filtered and limited) and the latest step of the active ones. A live page keeps one and applies step
/// events to it (<see cref="WithStep"/>), so a step costs no database read; a status change re-reads it.
/// </summary>
public sealed record QueueSnapshot(IReadOnlyList<RunView> Active, IReadOnlyList<RunView> Finished, IReadOnlyDictionary<Guid, LatestStep> Steps)
{
    public static QueueSnapshot Empty { get; } = new([], [], new Dictionary<Guid, LatestStep>());

    public QueueBoard Board(QueueFilter filter, DateTimeOffset now) => QueueBoard.Build(Active, Finished, Steps, filter, now);

    /// <summary>This snapshot with a run's newer step; unchanged when the run is not active here or the step is older.</summary>
    public QueueSnapshot WithStep(Guid runId, LatestStep step)
    {
        if (!Active.Any(r => r.Id == runId)) return this;
        // By time, not step number: a resumed run replays steps after its checkpoint under lower numbers.
        if (Steps.TryGetValue(runId, out var had) && had.At > step.At) return this;
        return this with { Steps = new Dictionary<Guid, LatestStep>(Steps) { [runId] = step } };
    }
}
