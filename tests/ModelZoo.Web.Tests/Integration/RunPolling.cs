using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelZoo.Core.Runs;

namespace ModelZoo.Web.Tests.Integration;

/// <summary>Following runs through the REST API as a script would.</summary>
public static class RunPolling
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Polls <c>GET /api/runs/{id}</c> until the run has finished, and returns it.</summary>
    public static async Task<RunView> WaitForTerminalAsync(this HttpClient http, Guid id, TimeSpan? within = null)
    {
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(3));
        while (DateTime.UtcNow < until)
        {
            var v = (await http.GetFromJsonAsync<RunView>($"/api/runs/{id}", Json))!;
            if (v.Status.IsTerminal()) return v;
            await Task.Delay(200);
        }
        throw new TimeoutException($"Run {id} did not finish in time.");
    }
}
