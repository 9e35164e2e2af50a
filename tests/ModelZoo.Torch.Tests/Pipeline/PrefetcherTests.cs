using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Torch.Tests.Pipeline;

public class PrefetcherTests
{
    sealed class Item(int value, Counter counter) : IDisposable
    {
        public int Value { get; } = value;
        public bool Disposed { get; private set; }
        public void Dispose() { Disposed = true; counter.Release(); }
    }

    sealed class Counter
    {
        int _alive, _peak, _made;
        public int Peak => _peak;
        public int Made => _made;
        public int Alive => _alive;
        public Item Make(int v)
        {
            Interlocked.Increment(ref _made);
            var a = Interlocked.Increment(ref _alive);
            int p;
            while (a > (p = _peak) && Interlocked.CompareExchange(ref _peak, a, p) != p) { }
            return new Item(v, this);
        }
        public void Release() => Interlocked.Decrement(ref _alive);
    }

    [Fact]
    public void Items_ComeInOrder_WithAtMostDepthAheadOfTheConsumer()
    {
        var counter = new Counter();
        using var p = new Prefetcher<Item>(40, (i, _) =>
        {
            Thread.Sleep(new Random(i).Next(0, 4)); // finish out of order
            return counter.Make(i);
        }, workers: 4, depth: 3, CancellationToken.None);
        for (int i = 0; i < 40; i++)
        {
            using var item = p.Next();
            item.Value.ShouldBe(i);
        }
        counter.Peak.ShouldBeLessThanOrEqualTo(3 + 1, "the queue is bounded: depth ahead plus the one handed out");
        counter.Alive.ShouldBe(0);
        Should.Throw<InvalidOperationException>(() => p.Next());
    }

    [Fact]
    public void ProducerException_SurfacesUnchanged_AtItsTurn()
    {
        var counter = new Counter();
        using var p = new Prefetcher<Item>(10, (i, _) => i == 3 ? throw new InvalidDataException($"image file broken at batch {i}") : counter.Make(i),
            workers: 2, depth: 4, CancellationToken.None);
        for (int i = 0; i < 3; i++) using (var item = p.Next()) item.Value.ShouldBe(i);
        Should.Throw<InvalidDataException>(() => p.Next()).Message.ShouldBe("image file broken at batch 3");
    }

    [Fact]
    public void Cancel_StopsAWaitingConsumer_AndDisposeReleasesWhatWasMade()
    {
        var counter = new Counter();
        using var cts = new CancellationTokenSource();
        using var release = new ManualResetEventSlim();
        var p = new Prefetcher<Item>(100, (i, token) =>
        {
            if (i == 2) release.Wait(token); // a slow batch the consumer will wait on
            return counter.Make(i);
        }, workers: 2, depth: 4, cts.Token);
        using (var first = p.Next()) first.Value.ShouldBe(0);
        using (var second = p.Next()) second.Value.ShouldBe(1);
        cts.CancelAfter(200);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Should.Throw<OperationCanceledException>(() => p.Next());
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), "cancellation does not wait for the slow batch");
        p.Dispose();
        counter.Made.ShouldBeLessThan(100, "producers stop after cancellation");
        counter.Alive.ShouldBe(0, "batches made ahead and never taken are disposed");
    }

    [Fact]
    public void WithoutWorkers_EachItemIsMadeByNext_OnTheCallingThread_InOrder()
    {
        var counter = new Counter();
        var threads = new List<int>();
        using var p = new Prefetcher<Item>(5, (i, _) =>
        {
            threads.Add(Environment.CurrentManagedThreadId);
            return counter.Make(i);
        }, workers: 0, depth: 4, CancellationToken.None);
        counter.Made.ShouldBe(0, "nothing is made ahead");
        for (int i = 0; i < 5; i++)
        {
            using var item = p.Next();
            item.Value.ShouldBe(i);
            counter.Made.ShouldBe(i + 1);
        }
        threads.ShouldAllBe(t => t == Environment.CurrentManagedThreadId);
        Should.Throw<InvalidOperationException>(() => p.Next());
    }

    [Fact]
    public void WithoutWorkers_AProducerExceptionSurfacesUnchanged_AndACancelledTokenStopsNext()
    {
        using var cts = new CancellationTokenSource();
        var counter = new Counter();
        using var p = new Prefetcher<Item>(10, (i, _) => i == 1 ? throw new InvalidDataException("row 1 broken") : counter.Make(i),
            workers: 0, depth: 1, cts.Token);
        using (var first = p.Next()) first.Value.ShouldBe(0);
        Should.Throw<InvalidDataException>(() => p.Next()).Message.ShouldBe("row 1 broken");
        cts.Cancel();
        Should.Throw<OperationCanceledException>(() => p.Next());
        counter.Alive.ShouldBe(0);
    }
}
