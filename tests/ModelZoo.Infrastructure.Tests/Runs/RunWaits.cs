using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>Waiting for a run the real worker trains: the tests that launch one through <see cref="RunService"/>.</summary>
public static class RunWaits
{
    /// <summary>The run once it has ended (succeeded, failed or cancelled); throws after <paramref name="within"/>
    /// (default 3 minutes), naming the run.</summary>
    public static async Task<RunView> UntilEndAsync(this RunService runs, Guid id, TimeSpan? within = null)
    {
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(3));
        while (DateTime.UtcNow < until)
        {
            var v = (await runs.GetAsync(id))!;
            if (v.Status.IsTerminal()) return v;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Run {id} did not finish.");
    }
}
