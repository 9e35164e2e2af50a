using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The queue page against the real run store (see <see cref="ComponentHost"/>); the worker does not run, so
/// the tests move runs through their states by hand, as the worker would, and record the events it would.</summary>
public class QueuePageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    BunitContext _ctx = default!;
    RunService _runs = default!;
    RunEventRecorder _recorder = default!;
    Guid _running, _next, _last, _done;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        _ctx = _host.Ctx;
        _runs = _host.Get<RunService>();
        _recorder = _host.Get<RunEventRecorder>();
        _done = await Launch("done", "full-fine-tune");
        _running = await Launch("training", "feature-extraction");
        _next = await Launch("next", "feature-extraction");
        _last = await Launch("last", "full-fine-tune");
        var now = DateTimeOffset.UtcNow;
        await Update(_done, r => { r.Status = RunStatus.Succeeded; r.StartedAt = now.AddMinutes(-20); r.FinishedAt = now.AddMinutes(-8); r.Resumes = 1; r.Device = "CPU (test)"; });
        await Update(_running, r => { r.Status = RunStatus.Running; r.StartedAt = now.AddMinutes(-3); r.Device = "CUDA:0 (test)"; });
        await _recorder.RecordAsync(_running, RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CUDA:0 (test)"));
        await _recorder.RecordAsync(_running, RunEventKind.Step, StepProgress.Of(1, 10, 20, 10, 40, 1.2, 1e-3, 100, 90));
    }

    async Task<Guid> Launch(string name, string strategy) =>
        (await _runs.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = name, Strategy = strategy,
            HyperParameters = new HyperParameters { Epochs = 2 } })).RunId.ShouldNotBeNull();

    async Task Update(Guid id, Action<RunRecord> change)
    {
        await using var db = await _ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        change(await db.Runs.FirstAsync(x => x.Id == id));
        await db.SaveChangesAsync();
    }

    IRenderedComponent<QueuePage> Open(string url = "/queue")
    {
        _ctx.Services.GetRequiredService<NavigationManager>().NavigateTo(url);
        return _ctx.Render<QueuePage>();
    }

    [Fact]
    public void ShowsTheRunningRun_TheQueueInOrder_AndFinishedRuns_EachWithWhatItIsKnownBy()
    {
        var page = Open();
        page.WaitForAssertion(() => page.FindAll($"[data-testid=running-{_running}]").Count.ShouldBe(1));
        var running = page.Find($"[data-testid=running-{_running}]");
        running.QuerySelector("[data-testid=device]")!.TextContent.ShouldBe("CUDA:0 (test)");
        running.QuerySelector("[data-testid=progress]")!.TextContent.ShouldContain("epoch 1 / 2 · step 10 / 40");
        running.QuerySelector("[data-testid=elapsed]")!.TextContent.ShouldStartWith("3m");
        running.QuerySelector("[data-testid=eta]")!.TextContent.ShouldEndWith("s");
        running.QuerySelector("a[data-testid=run-link]")!.GetAttribute("href").ShouldBe($"/runs/{_running}");

        page.FindAll("[data-testid=queued] tbody tr").Select(r => r.GetAttribute("data-testid")).ShouldBe([$"queued-{_next}", $"queued-{_last}"]);
        var next = page.Find($"[data-testid=queued-{_next}]");
        next.QuerySelector("[data-testid=position]")!.TextContent.ShouldBe("1");
        next.QuerySelector("[data-testid=wait]")!.TextContent.ShouldStartWith("≈ 1m", customMessage: "the running run's ETA of 90 s, less the moments since its step");
        page.Find($"[data-testid=queued-{_last}] [data-testid=wait]").TextContent.ShouldBe("unknown",
            customMessage: "the run ahead has not started, so nothing honest can be said");

        var done = page.Find($"[data-testid=finished-{_done}]");
        done.QuerySelector("[data-testid=duration]")!.TextContent.ShouldBe("12m 00s");
        done.QuerySelectorAll("[data-testid=resumed]").Length.ShouldBe(1);
        page.FindAll("[data-testid=resumed]").Count.ShouldBe(1, "only the resumed run is marked");
        page.FindAll($"[data-testid=finished-{_done}] [data-testid=cancel]").ShouldBeEmpty();
        page.FindAll("[data-testid=clear-filters]").ShouldBeEmpty("nothing is filtered");
    }

    [Fact]
    public async Task FollowsStepAndStatusEvents_WithoutAReload()
    {
        var page = Open();
        page.WaitForAssertion(() => page.FindAll($"[data-testid=running-{_running}]").Count.ShouldBe(1));

        await _recorder.RecordAsync(_running, RunEventKind.Step, StepProgress.Of(2, 10, 20, 30, 40, 1.0, 1e-3, 100, 20));
        page.WaitForAssertion(() =>
        {
            page.Find($"[data-testid=running-{_running}] [data-testid=progress]").TextContent.ShouldContain("epoch 2 / 2 · step 30 / 40");
            page.Find($"[data-testid=queued-{_next}] [data-testid=wait]").TextContent.ShouldMatch(@"^≈ 1\ds$");
        }, TimeSpan.FromSeconds(5));

        // The worker finishes the run and claims the next one, as RunWorker records it.
        await Update(_running, r => { r.Status = RunStatus.Succeeded; r.FinishedAt = DateTimeOffset.UtcNow; });
        await _recorder.RecordAsync(_running, RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        await Update(_next, r => { r.Status = RunStatus.Running; r.StartedAt = DateTimeOffset.UtcNow; r.Device = "CPU (test)"; });
        await _recorder.RecordAsync(_next, RunEventKind.Status, new StatusChange(RunStatus.Running, "Preparing data and model", "CPU (test)"));
        page.WaitForAssertion(() =>
        {
            page.FindAll($"[data-testid=finished-{_running}]").Count.ShouldBe(1);
            page.Find($"[data-testid=running-{_next}] [data-testid=progress]").TextContent.ShouldContain("preparing");
            page.Find($"[data-testid=running-{_next}] [data-testid=eta]").TextContent.ShouldBe("unknown");
            page.Find($"[data-testid=queued-{_last}] [data-testid=position]").TextContent.ShouldBe("1");
        }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task CancellingAQueuedRun_MovesItToTheFinishedRuns()
    {
        var page = Open();
        page.WaitForAssertion(() => page.FindAll($"[data-testid=queued-{_last}]").Count.ShouldBe(1));
        await page.Find($"[data-testid=queued-{_last}] [data-testid=cancel]").ClickAsync(new());
        page.WaitForAssertion(() =>
        {
            page.FindAll($"[data-testid=queued-{_last}]").ShouldBeEmpty();
            page.Find($"[data-testid=finished-{_last}]").TextContent.ShouldContain("Cancelled");
            page.Find($"[data-testid=finished-{_last}] [data-testid=duration]").TextContent.ShouldBe("never started");
        }, TimeSpan.FromSeconds(5));
        (await _runs.GetAsync(_last))!.Status.ShouldBe(RunStatus.Cancelled);
    }

    [Fact]
    public void FiltersComeFromTheUrl_AndEachFilterLinkKeepsTheOthers()
    {
        var page = Open("/queue?strategy=full-fine-tune&status=queued,succeeded");
        page.WaitForAssertion(() => page.FindAll($"[data-testid=queued-{_last}]").Count.ShouldBe(1));
        page.FindAll("[data-testid=running] tbody tr").ShouldBeEmpty();
        page.FindAll($"[data-testid=queued-{_next}]").ShouldBeEmpty("another strategy");
        page.FindAll($"[data-testid=finished-{_done}]").Count.ShouldBe(1);
        page.Find($"[data-testid=queued-{_last}] [data-testid=position]").TextContent.ShouldBe("2", "the filtered-out run ahead still counts");

        page.Find("[data-testid=status-running]").GetAttribute("href").ShouldBe("/queue?status=queued,running,succeeded&strategy=full-fine-tune");
        page.Find("[data-testid=status-queued]").GetAttribute("href").ShouldBe("/queue?status=succeeded&strategy=full-fine-tune");
        page.Find("[data-testid=status-resumed]").GetAttribute("href").ShouldBe("/queue?status=queued,succeeded&strategy=full-fine-tune&resumed=true");
        page.Find("[data-testid=clear-filters]").GetAttribute("href").ShouldBe("/queue");
    }

    [Fact]
    public void AnUnknownStatusInTheUrl_IsSaid_NotIgnored()
    {
        var page = Open("/queue?status=done");
        page.WaitForAssertion(() => page.Find("[data-testid=filter-error]").TextContent.ShouldContain("Unknown status 'done'"));
        page.FindAll("[data-testid=queued]").ShouldBeEmpty();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();
}
