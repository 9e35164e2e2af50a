using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Web.Runs;

/// <summary>Methods the server calls on clients. The method name on the wire is "RunEvent".</summary>
public interface IRunsClient
{
    Task RunEvent(RunEvent e);
}

/// <summary>
/// Live progress: one group per run. <see cref="Join"/> adds the caller to the group first and then returns the
/// stored history, so no event falls between the two; clients drop duplicates by <see cref="RunEvent.Seq"/>.
/// Connecting needs a signed-in user of any role (a cookie, or a personal token in a bearer header).
/// </summary>
[Authorize(Policy = ModelZoo.Web.Accounts.ZooPolicies.Viewer)]
public sealed class RunsHub(RunService runs) : Hub<IRunsClient>
{
    public const string Path = "/hubs/runs";

    public static string Group(Guid runId) => $"run:{runId:N}";

    public async Task<IReadOnlyList<RunEvent>> Join(Guid runId)
    {
        if (await runs.GetAsync(runId) is not { } run) throw new HubException($"Run {runId} does not exist.");
        if (!ModelZoo.Web.Accounts.Ownership.MaySee(Context.User!, run.OwnerId)) throw new HubException($"You may not watch run {runId}.");
        await Groups.AddToGroupAsync(Context.ConnectionId, Group(runId));
        return await runs.EventsAsync(runId);
    }

    public Task Leave(Guid runId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, Group(runId));
}

/// <summary>Relays every stored event to the run's SignalR group and to Blazor circuits in this process.</summary>
public sealed class RunEventRelay(IHubContext<RunsHub, IRunsClient> hub, RunNotifier notifier) : IRunEventBroadcaster
{
    public async Task PublishAsync(RunEvent e, CancellationToken ct = default)
    {
        notifier.Publish(e);
        await hub.Clients.Group(RunsHub.Group(e.RunId)).RunEvent(e);
    }
}

/// <summary>
/// In-process fan-out to Blazor components (eShop's OrderStatusNotificationService pattern): components subscribe
/// to one run and receive the same typed events the hub sends.
/// </summary>
public sealed class RunNotifier
{
    readonly object _gate = new();
    readonly Dictionary<Guid, List<Func<RunEvent, Task>>> _subs = new();

    public IDisposable Subscribe(Guid runId, Func<RunEvent, Task> handler)
    {
        lock (_gate)
        {
            if (!_subs.TryGetValue(runId, out var list)) _subs[runId] = list = [];
            list.Add(handler);
        }
        return new Subscription(() =>
        {
            lock (_gate)
                if (_subs.TryGetValue(runId, out var list) && list.Remove(handler) && list.Count == 0) _subs.Remove(runId);
        });
    }

    /// <summary>Anything that watches every run (the runs list).</summary>
    public event Action<RunEvent>? AnyRun;

    public void Publish(RunEvent e)
    {
        Func<RunEvent, Task>[] handlers;
        lock (_gate) handlers = _subs.TryGetValue(e.RunId, out var list) ? [.. list] : [];
        foreach (var h in handlers) _ = h(e); // components marshal to their own dispatcher
        AnyRun?.Invoke(e);
    }

    sealed class Subscription(Action dispose) : IDisposable
    {
        int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) dispose(); }
    }
}
