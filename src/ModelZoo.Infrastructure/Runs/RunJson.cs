using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>The one JSON shape for stored requests, results and event payloads.</summary>
public static class RunJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);
    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;
}
