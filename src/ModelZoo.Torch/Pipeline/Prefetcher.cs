using System.Diagnostics;

namespace ModelZoo.Torch.Pipeline;

/// <summary>
/// Produces items 0 .. count-1 on worker threads ahead of the consumer and hands them out in order. At most
/// <c>depth</c> items besides the one being handed out are produced or waiting (a bounded queue: memory stays bounded however slow the
/// consumer is), and at most <c>workers</c> are being produced at once. A producer's exception is rethrown, unchanged,
/// by the <see cref="Next"/> that would have returned its item; cancelling the token stops the producers and makes a
/// waiting <see cref="Next"/> throw <see cref="OperationCanceledException"/>. Dispose waits for the producers and
/// disposes what was made but not taken.
/// <para>With <c>workers: 0</c> nothing is made ahead: <see cref="Next"/> makes each item on the calling thread. For
/// producers cheaper than a handoff between threads (a gather of cached feature rows takes microseconds; waking a
/// worker and waiting for it costs more, and on a loaded machine the worker competes with the training step's own
/// threads for the cores).</para>
/// </summary>
public sealed class Prefetcher<T> : IDisposable where T : class, IDisposable
{
    readonly Func<int, CancellationToken, T> _produce;
    readonly CancellationTokenSource _cts;
    readonly Queue<TaskCompletionSource<T>> _window = new();
    readonly System.Collections.Concurrent.BlockingCollection<(int Index, TaskCompletionSource<T> Result)> _work = new();
    readonly Thread[] _threads;
    readonly int _depth;
    readonly bool _inline;
    int _started, _taken;
    long _waitTicks;
    bool _disposed;
    readonly IDisposable? _owned;

    /// <param name="owned">Disposed with this prefetcher, after its producers: the prefetcher a mapping one draws from.</param>
    public Prefetcher(int count, Func<int, CancellationToken, T> produce, int workers, int depth, CancellationToken ct, IDisposable? owned = null)
    {
        _owned = owned;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        _produce = produce;
        _depth = Math.Max(1, depth);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        if (workers == 0)
        {
            _inline = true;
            _threads = [];
            return;
        }
        // Own threads, not the thread pool: glibc gives each thread that allocates its own malloc arena and keeps
        // freed blocks there, so batches built on ever other pool threads left a batch's worth of memory on each.
        // These threads end with the epoch, and glibc hands their arenas to the next ones.
        _threads = Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"pipeline-{i}" }).ToArray();
        foreach (var t in _threads) t.Start();
        Fill();
    }

    public int Count { get; }

    /// <summary>Items handed out so far.</summary>
    public int Taken => _taken;

    /// <summary>Items produced ahead of the consumer at most (the queue's bound).</summary>
    public int Depth => _depth;

    /// <summary>Time the consumer spent blocked in <see cref="Next"/>: the loader's share of a training step.</summary>
    public TimeSpan WaitTime => TimeSpan.FromTicks(_waitTicks);

    public T Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_taken >= Count) throw new InvalidOperationException($"All {Count} items have been taken.");
        if (_inline)
        {
            _cts.Token.ThrowIfCancellationRequested();
            // Making the item is the consumer's wait here.
            var started = Stopwatch.GetTimestamp();
            try { return _produce(_taken++, _cts.Token); }
            finally { _waitTicks += Stopwatch.GetElapsedTime(started).Ticks; }
        }
        var task = _window.Dequeue().Task;
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
            var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _window.Enqueue(result);
            _work.Add((_started++, result));
        }
    }

    void Work()
    {
        var token = _cts.Token;
        try
        {
            foreach (var (i, result) in _work.GetConsumingEnumerable(token))
            {
                try
                {
                    token.ThrowIfCancellationRequested();
                    result.SetResult(_produce(i, token));
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested) { result.SetCanceled(token); }
                catch (Exception e) { result.SetException(e); }
            }
        }
        catch (OperationCanceledException) { } // disposed or cancelled while waiting for work
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cts.Cancel();
        _work.CompleteAdding();
        foreach (var t in _threads) t.Join();
        // Work queued but never started: nothing was made.
        while (_work.TryTake(out var left)) left.Result.TrySetCanceled();
        foreach (var r in _window)
            if (r.Task.IsCompletedSuccessfully) r.Task.Result.Dispose();
        _window.Clear();
        _work.Dispose();
        _cts.Dispose();
        _owned?.Dispose();
    }
}
