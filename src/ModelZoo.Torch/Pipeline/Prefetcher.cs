using System.Diagnostics;

namespace ModelZoo.Torch.Pipeline;

/// <summary>
/// Produces items 0 .. count-1 on worker threads ahead of the consumer and hands them out in order. At most
/// <c>depth</c> items besides the one being handed out are produced or waiting (a bounded queue: memory stays bounded however slow the
/// consumer is), and at most <c>workers</c> are being produced at once. A producer's exception is rethrown, unchanged,
/// by the <see cref="Next"/> that would have returned its item; cancelling the token stops the producers and makes a
/// waiting <see cref="Next"/> throw <see cref="OperationCanceledException"/>. Dispose waits for the producers and
/// disposes what was made but not taken.
/// </summary>
public sealed class Prefetcher<T> : IDisposable where T : class, IDisposable
{
    readonly Func<int, CancellationToken, T> _produce;
    readonly TaskScheduler _scheduler;
    readonly CancellationTokenSource _cts;
    readonly Queue<Task<T>> _window = new();
    readonly int _depth;
    int _started, _taken;
    long _waitTicks;
    bool _disposed;

    public Prefetcher(int count, Func<int, CancellationToken, T> produce, int workers, int depth, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        _produce = produce;
        _depth = Math.Max(1, depth);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _scheduler = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, Math.Max(1, workers)).ConcurrentScheduler;
        Fill();
    }

    public int Count { get; }

    /// <summary>Items produced ahead of the consumer at most (the queue's bound).</summary>
    public int Depth => _depth;

    /// <summary>Time the consumer spent blocked in <see cref="Next"/>: the loader's share of a training step.</summary>
    public TimeSpan WaitTime => TimeSpan.FromTicks(_waitTicks);

    public T Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_taken >= Count) throw new InvalidOperationException($"All {Count} items have been taken.");
        var task = _window.Dequeue();
        _taken++;
        Fill();
        var wait = Stopwatch.GetTimestamp();
        try { task.Wait(_cts.Token); }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException!).Throw();
        }
        finally { _waitTicks += Stopwatch.GetElapsedTime(wait).Ticks; }
        return task.Result;
    }

    void Fill()
    {
        while (_window.Count < _depth && _started < Count && !_cts.IsCancellationRequested)
        {
            int i = _started++;
            var token = _cts.Token;
            _window.Enqueue(Task.Factory.StartNew(() =>
            {
                token.ThrowIfCancellationRequested();
                return _produce(i, token);
            }, token, TaskCreationOptions.None, _scheduler));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cts.Cancel();
        foreach (var t in _window)
        {
            try { t.Wait(); } catch (AggregateException) { } // cancelled or failed: nothing to give back
            if (t.IsCompletedSuccessfully) t.Result.Dispose();
        }
        _window.Clear();
        _cts.Dispose();
    }
}
