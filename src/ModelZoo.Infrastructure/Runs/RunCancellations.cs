using System.Collections.Concurrent;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>Cancellation tokens of the runs training in this process, so Cancel reaches the trainer at once.</summary>
public sealed class RunCancellations
{
    readonly ConcurrentDictionary<Guid, CancellationTokenSource> _active = new();

    public CancellationTokenSource Register(Guid runId, CancellationToken stopping)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _active[runId] = cts;
        return cts;
    }

    public void Unregister(Guid runId)
    {
        if (_active.TryRemove(runId, out var cts)) cts.Dispose();
    }

    public bool Cancel(Guid runId)
    {
        if (!_active.TryGetValue(runId, out var cts)) return false;
        try { cts.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }
}

/// <summary>Wakes the worker when a run is queued, instead of making it poll the database.</summary>
public sealed class RunQueueSignal
{
    readonly SemaphoreSlim _signal = new(0);
    public void Notify() => _signal.Release();
    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}
