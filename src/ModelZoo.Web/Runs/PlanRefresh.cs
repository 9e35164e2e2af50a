using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs.Plan;

namespace ModelZoo.Web.Runs;

/// <summary>
/// The new-run form's plan, made again a moment after the form stops changing: typing a learning rate digit by digit
/// makes one plan, not one per digit. The planning runs off the circuit's thread; an answer that a later change has
/// overtaken is dropped.
/// </summary>
public sealed class PlanRefresh(RunPlanner planner, TimeSpan delay) : IDisposable
{
    string? _key;
    CancellationTokenSource? _pending;

    public PlanResult? Current { get; private set; }
    public bool Busy { get; private set; }

    /// <returns>True when <see cref="Current"/> changed (the caller re-renders).</returns>
    public async Task<bool> UpdateAsync(RunRequest request)
    {
        var key = JsonSerializer.Serialize(request);
        if (key == _key) return false;
        _key = key;
        // Cancelled, not disposed: the overtaken call still reads its token when its delay ends.
        _pending?.Cancel();
        var cts = _pending = new CancellationTokenSource();
        Busy = true;
        try
        {
            await Task.Delay(delay, cts.Token);
            var result = await Task.Run(() => planner.Plan(request), cts.Token);
            if (cts.IsCancellationRequested) return false;
            Current = result;
            Busy = false;
            return true;
        }
        catch (OperationCanceledException) { return false; }
    }

    public void Dispose()
    {
        _pending?.Cancel();
        _pending?.Dispose();
    }
}
