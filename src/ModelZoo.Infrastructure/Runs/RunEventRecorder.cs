using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// Numbers, stores and relays runs' progress events without making the training thread wait. An event gets its
/// sequence number at once and goes into a bounded in-memory channel; one writer stores events in batches (each
/// event's row and one row per named value in <c>run_metrics</c>) and only then hands them to a relay, which sends
/// them to the SignalR hub and the Blazor circuits. Stored-before-sent still holds, so a client that joins late and
/// reads the history cannot miss an event that was already sent; the sequence number removes duplicates. The relay
/// has its own bounded queue that drops the oldest events when clients are slow: a stalled client loses live
/// points (the history keeps them), training loses nothing.
/// </summary>
public sealed class RunEventRecorder : IAsyncDisposable, IDisposable
{
    /// <summary>Events waiting to be stored. Full only when the database has stalled for tens of thousands of
    /// events; then the training thread waits rather than lose history.</summary>
    public const int Capacity = 50_000;
    const int MaxBatch = 2_000;
    const int RelayCapacity = 10_000;

    /// <summary>How long the writer gathers events before storing them, unless someone waits for them (a flush, a
    /// status) or a batch is full. A fast run (a linear head on cached features) steps thousands of times a second;
    /// stored as they came, each step cost a transaction and two thread wake-ups, taken from the training step's
    /// cores: on 2 cores recording made such a run 1.5x slower (docs/benchmarks.md, issue 11). Live charts redraw
    /// at 4 Hz, so a tenth of a second is not seen.</summary>
    public static readonly TimeSpan GatherTime = TimeSpan.FromMilliseconds(100);

    readonly IDbContextFactory<ZooDbContext> _dbs;
    readonly IEnumerable<IRunEventBroadcaster> _broadcasters;
    readonly TimeProvider _clock;
    readonly ILogger<RunEventRecorder> _log;
    readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    readonly Channel<RunEvent> _relay = Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(RelayCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
    readonly ConcurrentDictionary<Guid, RunSeq> _runs = new();
    readonly Task _writer, _relayer;
    /// <summary>Completed when someone waits for stored events: the writer stops gathering and stores at once.</summary>
    TaskCompletionSource _hurry = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RunEventRecorder(IDbContextFactory<ZooDbContext> dbs, IEnumerable<IRunEventBroadcaster> broadcasters, TimeProvider clock, ILogger<RunEventRecorder> log)
    {
        _dbs = dbs; _broadcasters = broadcasters; _clock = clock; _log = log;
        _writer = Task.Run(WriteLoopAsync);
        _relayer = Task.Run(RelayLoopAsync);
    }

    /// <summary>Numbers the event and queues it for storage; returns at once (unless the queue is full).</summary>
    public RunEvent Enqueue(Guid runId, RunEventKind kind, object payload) => Add(runId, kind, payload, waiter: null);

    /// <summary>Numbers, stores and relays the event, and returns once it is stored.</summary>
    public async Task<RunEvent> RecordAsync(Guid runId, RunEventKind kind, object payload, CancellationToken ct = default)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var e = Add(runId, kind, payload, stored);
        Hurry();
        // Not the caller's token: an event of a run being cancelled (its final status) must still be stored.
        await stored.Task.WaitAsync(CancellationToken.None);
        return e;
    }

    /// <summary>The trainer's progress sink for one run (the worker's own): events are queued, not waited for, and
    /// <see cref="IRunProgress.Flush"/> waits until they are stored. For code that trains a run outside the worker
    /// (benchmarks of the real event path); the run must exist in the database.</summary>
    public IRunProgress ProgressFor(Guid runId) => new RecordingProgress(this, runId);

    /// <summary>Blocks until every event of the run queued so far is stored; returns the last one's number.</summary>
    public long Flush(Guid runId)
    {
        var state = State(runId);
        TaskCompletionSource? last;
        long seq;
        lock (state) { last = state.LastWaiter; seq = state.Next - 1; }
        if (last is { Task.IsCompleted: false }) Hurry();
        last?.Task.GetAwaiter().GetResult();
        return seq;
    }

    /// <summary>Forgets events after <paramref name="seq"/> (and their named values): a run resuming from a
    /// checkpoint records its replayed steps again under the same numbers, so the history has no gap or duplicate.</summary>
    public async Task TruncateAsync(Guid runId, long seq, CancellationToken ct = default)
    {
        Flush(runId);
        await using var db = await _dbs.CreateDbContextAsync(ct);
        await db.RunMetrics.Where(m => m.RunId == runId && m.Seq > seq).ExecuteDeleteAsync(ct);
        await db.RunEvents.Where(e => e.RunId == runId && e.Seq > seq).ExecuteDeleteAsync(ct);
        await db.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.LastSeq, seq), ct);
        _runs.TryRemove(runId, out _);
    }

    RunEvent Add(Guid runId, RunEventKind kind, object payload, TaskCompletionSource? waiter)
    {
        var state = State(runId);
        RunEvent e;
        waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (state)
        {
            e = new RunEvent
            {
                RunId = runId, Seq = state.Next++, Kind = kind, At = _clock.GetUtcNow(),
                Step = payload as StepProgress, Epoch = payload as EpochMetrics, Status = payload as StatusChange, Checkpoint = payload as CheckpointInfo,
            };
            state.LastWaiter = waiter;
            // Written under the run's lock, so the channel holds each run's events in sequence order.
            if (!_queue.Writer.TryWrite(new Pending(e, payload, waiter)))
                _queue.Writer.WriteAsync(new Pending(e, payload, waiter)).AsTask().GetAwaiter().GetResult();
        }
        if (kind == RunEventKind.Status && payload is StatusChange { Status: var s } && s.IsTerminal())
            waiter.Task.ContinueWith(_ => _runs.TryRemove(new KeyValuePair<Guid, RunSeq>(runId, state)), TaskScheduler.Default);
        return e;
    }

    RunSeq State(Guid runId) => _runs.GetOrAdd(runId, id =>
    {
        using var db = _dbs.CreateDbContext();
        var last = db.Runs.AsNoTracking().Where(r => r.Id == id).Select(r => (long?)r.LastSeq).FirstOrDefault()
            ?? throw new InvalidOperationException($"Run {id} does not exist.");
        return new RunSeq { Next = last + 1 };
    });

    void Hurry() => Volatile.Read(ref _hurry).TrySetResult();

    async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            // A fresh signal before gathering: a flush that comes after this point completes it, one that came before
            // completed the old one, which is seen here; either way nobody waits out the gathering time.
            var hurry = Volatile.Read(ref _hurry);
            if (hurry.Task.IsCompleted) Interlocked.CompareExchange(ref _hurry, new(TaskCreationOptions.RunContinuationsAsynchronously), hurry);
            else if (_queue.Reader.Count < MaxBatch) await Task.WhenAny(hurry.Task, Task.Delay(GatherTime));
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var p)) batch.Add(p);
            try
            {
                await StoreAsync(batch);
                foreach (var p in batch) p.Stored.TrySetResult();
                foreach (var p in batch) _relay.Writer.TryWrite(p.Event);
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "Storing {Count} progress events failed", batch.Count);
                foreach (var p in batch) p.Stored.TrySetException(ex);
            }
        }
    }

    async Task StoreAsync(List<Pending> batch)
    {
        await using var db = await _dbs.CreateDbContextAsync(CancellationToken.None);
        // One transaction: the events, their values and the runs' last numbers are stored together or not at all.
        await using var tx = await db.Database.BeginTransactionAsync();
        // Prepared inserts rather than tracked entities: EF Core's change tracking cost about 300 µs of CPU per step
        // event (its row and two value rows), a core's worth at the thousands of steps per second a linear head on
        // cached features makes, taken from the training step on a small machine (docs/benchmarks.md, issue 11).
        // Columns and value conversions come from the EF model, so the rows are those SaveChanges would write.
        using (var events = new RowInserter(db, tx.GetDbTransaction(), typeof(RunEventRecord),
                   nameof(RunEventRecord.RunId), nameof(RunEventRecord.Seq), nameof(RunEventRecord.Kind), nameof(RunEventRecord.At), nameof(RunEventRecord.PayloadJson)))
        using (var values = new RowInserter(db, tx.GetDbTransaction(), typeof(RunMetricRecord),
                   nameof(RunMetricRecord.RunId), nameof(RunMetricRecord.Seq), nameof(RunMetricRecord.Name), nameof(RunMetricRecord.Step),
                   nameof(RunMetricRecord.Epoch), nameof(RunMetricRecord.Elapsed), nameof(RunMetricRecord.Value)))
        {
            foreach (var p in batch)
            {
                var e = p.Event;
                events.Insert(e.RunId, e.Seq, e.Kind, e.At, RunJson.Write(p.Payload));
                foreach (var m in Metrics(e)) values.Insert(m.RunId, m.Seq, m.Name, m.Step, m.Epoch, m.Elapsed, m.Value);
            }
        }
        foreach (var (runId, last) in batch.GroupBy(p => p.Event.RunId).Select(g => (g.Key, g.Max(p => p.Event.Seq))))
            await db.Runs.Where(r => r.Id == runId && r.LastSeq < last).ExecuteUpdateAsync(s => s.SetProperty(r => r.LastSeq, last));
        await tx.CommitAsync();
    }

    /// <summary>One prepared INSERT of an entity's columns, its parameters typed and its values converted by the EF
    /// model's own mappings (a Guid as SQLite text, a timestamp as ticks, an enum as its name).</summary>
    sealed class RowInserter : IDisposable
    {
        readonly System.Data.Common.DbCommand _command;
        readonly (System.Data.Common.DbParameter Parameter, Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter? Converter)[] _columns;

        public RowInserter(ZooDbContext db, System.Data.Common.DbTransaction tx, Type entity, params string[] properties)
        {
            var type = db.Model.FindEntityType(entity) ?? throw new InvalidOperationException($"{entity.Name} is not in the model.");
            var table = Microsoft.EntityFrameworkCore.Metadata.StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
            _command = db.Database.GetDbConnection().CreateCommand();
            _command.Transaction = tx;
            var props = properties.Select(n => type.FindProperty(n) ?? throw new InvalidOperationException($"{entity.Name}.{n} is not mapped.")).ToArray();
            _command.CommandText = $"INSERT INTO \"{table.Name}\" ({string.Join(", ", props.Select(p => $"\"{p.GetColumnName(table)}\""))}) " +
                                   $"VALUES ({string.Join(", ", props.Select((_, i) => $"@p{i}"))})";
            _columns = props.Select((p, i) =>
            {
                var mapping = (Microsoft.EntityFrameworkCore.Storage.RelationalTypeMapping)p.GetRelationalTypeMapping();
                var parameter = mapping.CreateParameter(_command, $"@p{i}", null, p.IsNullable);
                _command.Parameters.Add(parameter);
                return (parameter, mapping.Converter);
            }).ToArray();
            _command.Prepare();
        }

        public void Insert(params object?[] values)
        {
            for (int i = 0; i < _columns.Length; i++)
            {
                var (parameter, converter) = _columns[i];
                parameter.Value = values[i] is { } v ? converter?.ConvertToProvider(v) ?? v : DBNull.Value;
            }
            _command.ExecuteNonQuery();
        }

        public void Dispose() => _command.Dispose();
    }

    /// <summary>A step's or an epoch's named values as rows; values that are not finite stay in the event only.</summary>
    static IEnumerable<RunMetricRecord> Metrics(RunEvent e)
    {
        if (e.Step is { } s)
            foreach (var (name, v) in s.Values)
                if (double.IsFinite(v)) yield return new RunMetricRecord { RunId = e.RunId, Seq = e.Seq, Name = name, Step = s.GlobalStep, Epoch = s.Epoch, Elapsed = s.Elapsed, Value = v };
        if (e.Epoch is { } ep)
            foreach (var (name, v) in ep.Values)
                if (double.IsFinite(v)) yield return new RunMetricRecord { RunId = e.RunId, Seq = e.Seq, Name = name, Epoch = ep.Epoch, Value = v };
    }

    async Task RelayLoopAsync()
    {
        await foreach (var e in _relay.Reader.ReadAllAsync())
            foreach (var b in _broadcasters)
            {
                try { await b.PublishAsync(e, CancellationToken.None); }
                catch (Exception ex) { _log.LogWarning(ex, "Broadcasting event {Seq} of run {Run} failed", e.Seq, e.RunId); }
            }
    }

    public static RunEvent ToEvent(RunEventRecord r) => new()
    {
        RunId = r.RunId, Seq = r.Seq, Kind = r.Kind, At = r.At,
        Step = r.Kind == RunEventKind.Step ? ReadStep(r.PayloadJson) : null,
        Epoch = r.Kind == RunEventKind.Epoch ? ReadEpoch(r.PayloadJson) : null,
        Status = r.Kind == RunEventKind.Status ? RunJson.Read<StatusChange>(r.PayloadJson) : null,
        Checkpoint = r.Kind == RunEventKind.Checkpoint ? RunJson.Read<CheckpointInfo>(r.PayloadJson) : null,
    };

    /// <summary>Steps stored before values had names carried <c>loss</c> and <c>learningRate</c> as fields.</summary>
    static StepProgress ReadStep(string json)
    {
        var s = RunJson.Read<StepProgress>(json);
        if (s.Values is not null) return s;
        var node = JsonNode.Parse(json)!;
        return s with { Values = new Dictionary<string, double> { [MetricNames.Loss] = Num(node["loss"]), [MetricNames.LearningRate] = Num(node["learningRate"]) } };
    }

    /// <summary>Epochs stored before values had names carried four fields.</summary>
    static EpochMetrics ReadEpoch(string json)
    {
        var e = RunJson.Read<EpochMetrics>(json);
        if (e.Values is not null) return e;
        var node = JsonNode.Parse(json)!;
        return e with
        {
            Values = new Dictionary<string, double>
            {
                [MetricNames.TrainLoss] = Num(node["trainLoss"]), [MetricNames.TrainAccuracy] = Num(node["trainAccuracy"]),
                [MetricNames.ValLoss] = Num(node["valLoss"]), [MetricNames.ValAccuracy] = Num(node["valAccuracy"]),
            },
        };
    }

    static double Num(JsonNode? n) => n is null ? double.NaN : n.GetValueKind() == System.Text.Json.JsonValueKind.String
        ? double.Parse(n.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : n.GetValue<double>();

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        Hurry();
        await _writer;
        _relay.Writer.TryComplete();
        await _relayer;
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    sealed class RunSeq
    {
        public long Next;
        public TaskCompletionSource? LastWaiter;
    }

    sealed record Pending(RunEvent Event, object Payload, TaskCompletionSource Stored);
}

/// <summary>The trainer's progress sink for one run: queues events without waiting for the database or clients;
/// <see cref="Flush"/> waits, and the loop calls it only before a checkpoint.</summary>
internal sealed class RecordingProgress(RunEventRecorder recorder, Guid runId) : IRunProgress
{
    public void Status(StatusChange status) => recorder.Enqueue(runId, RunEventKind.Status, status);
    public void Step(StepProgress step) => recorder.Enqueue(runId, RunEventKind.Step, step);
    public void Epoch(EpochMetrics epoch) => recorder.Enqueue(runId, RunEventKind.Epoch, epoch);
    public void Checkpoint(CheckpointInfo checkpoint) => recorder.Enqueue(runId, RunEventKind.Checkpoint, checkpoint);
    public long Flush() => recorder.Flush(runId);
}
