using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ModelZoo.Core.Strategies;

/// <summary>
/// Reads a request's <c>Options</c> object into a strategy's options record, with one message per bad option:
/// unknown names, wrong types, values outside the limits the record declares. Options left out keep their defaults.
/// </summary>
public static class StrategyOptionsReader
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(allowIntegerValues: false) },
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The options of a record type, in declaration order, with a fresh instance's values as defaults.</summary>
    public static IReadOnlyList<StrategyOption> Describe(Type optionsType)
    {
        var defaults = Activator.CreateInstance(optionsType)!;
        var list = new List<StrategyOption>();
        foreach (var p in optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (p.GetCustomAttribute<OptionAttribute>() is not { } a) continue;
            var type = p.PropertyType;
            var kind = a.FrozenStages ? OptionKind.FrozenStages
                : type == typeof(int) ? OptionKind.Integer
                : type == typeof(double) ? OptionKind.Number
                : type == typeof(bool) ? OptionKind.Boolean
                : type.IsEnum ? OptionKind.Choice
                : throw new NotSupportedException($"{optionsType.Name}.{p.Name}: options are int, double, bool or an enum, not {type.Name}.");
            if (a.FrozenStages && type != typeof(int)) throw new NotSupportedException($"{optionsType.Name}.{p.Name}: a stage count is an int.");
            var value = p.GetValue(defaults)!;
            list.Add(new StrategyOption
            {
                Name = JsonNamingPolicy.CamelCase.ConvertName(p.Name),
                Label = a.Label,
                Help = a.Help,
                Kind = kind,
                Default = type.IsEnum ? value.ToString()! : value,
                Min = double.IsNaN(a.Min) ? (a.FrozenStages ? 0 : null) : a.Min,
                Max = double.IsNaN(a.Max) ? null : a.Max,
                Choices = type.IsEnum
                    ? type.GetFields(BindingFlags.Public | BindingFlags.Static)
                        .Select(f => new OptionChoice(f.Name, f.GetCustomAttribute<ChoiceAttribute>()?.Label ?? f.Name)).ToList()
                    : [],
            });
        }
        return list;
    }

    /// <summary>The options record for <paramref name="options"/> (null or empty: every default), or the problems.</summary>
    public static (StrategyOptions? Options, IReadOnlyList<OptionProblem> Problems) Read(StrategyDescription strategy, JsonObject? options)
    {
        var problems = new List<OptionProblem>();
        var known = strategy.Options.ToDictionary(o => o.Name, StringComparer.OrdinalIgnoreCase);
        if (options is not null)
        {
            foreach (var (name, node) in options)
            {
                if (!known.TryGetValue(name, out var option))
                {
                    problems.Add(OptionProblem.Option(name, strategy.Options.Count == 0
                        ? $"{strategy.Title} has no options; '{name}' is not one."
                        : $"{strategy.Title} has no option '{name}'. Its options: {string.Join(", ", strategy.Options.Select(o => o.Name))}."));
                    continue;
                }
                if (TypeProblem(option, node) is { } message) problems.Add(OptionProblem.Option(option.Name, message));
            }
        }
        if (problems.Count > 0) return (null, problems);

        StrategyOptions value;
        try
        {
            value = (StrategyOptions)(options is null ? Activator.CreateInstance(strategy.OptionsType)! : options.Deserialize(strategy.OptionsType, Json)!);
        }
        catch (JsonException e)
        {
            return (null, [new OptionProblem("Options", $"The options of {strategy.Title} could not be read: {e.Message}")]);
        }
        foreach (var option in strategy.Options.Where(o => o.Kind is OptionKind.Integer or OptionKind.Number or OptionKind.FrozenStages))
        {
            var number = Convert.ToDouble(Value(value, option), CultureInfo.InvariantCulture);
            if (option.Min is { } min && number < min || option.Max is { } max && number > max)
                problems.Add(OptionProblem.Option(option.Name, $"{option.Label} must be {Range(option)}; it is {Format(number)}."));
        }
        return problems.Count > 0 ? (null, problems) : (value, []);
    }

    /// <summary>The option's value in a record, by its JSON name.</summary>
    public static object? Value(StrategyOptions options, StrategyOption option) =>
        options.GetType().GetProperties().First(p => string.Equals(p.Name, option.Name, StringComparison.OrdinalIgnoreCase)).GetValue(options);

    /// <summary>A record's options as JSON, every option written (what a run records).</summary>
    public static JsonObject ToJson(StrategyOptions options)
    {
        var json = JsonSerializer.SerializeToNode(options, options.GetType(), Json)!.AsObject();
        // Only the options: a computed property of the record (multitask's Weights and Shares arrays) would be stored
        // with the request and refused as an unknown option when the worker reads it back.
        var names = Describe(options.GetType()).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var key in json.Select(p => p.Key).Where(k => !names.Contains(k)).ToList()) json.Remove(key);
        return json;
    }

    /// <summary>"between 0 and 5", "at least 1", "at most 0.5".</summary>
    public static string Range(StrategyOption o) => (o.Min, o.Max) switch
    {
        ({ } min, { } max) => $"between {Format(min)} and {Format(max)}",
        ({ } min, null) => $"at least {Format(min)}",
        (null, { } max) => $"at most {Format(max)}",
        _ => "a number",
    };

    public static string Format(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    static string? TypeProblem(StrategyOption option, JsonNode? node)
    {
        var kind = node?.GetValueKind();
        switch (option.Kind)
        {
            case OptionKind.Integer or OptionKind.FrozenStages:
                return kind == JsonValueKind.Number && node!.AsValue().TryGetValue<int>(out _) ? null
                    : $"{option.Label} must be a whole number ({Range(option)}).";
            case OptionKind.Number:
                return kind == JsonValueKind.Number ? null : $"{option.Label} must be a number ({Range(option)}).";
            case OptionKind.Boolean:
                return kind is JsonValueKind.True or JsonValueKind.False ? null : $"{option.Label} must be true or false.";
            case OptionKind.Choice:
                var text = kind == JsonValueKind.String ? node!.GetValue<string>() : null;
                return text is not null && option.Choices.Any(c => string.Equals(c.Value, text, StringComparison.OrdinalIgnoreCase)) ? null
                    : $"{option.Label} must be one of {string.Join(", ", option.Choices.Select(c => c.Value))}.";
            default:
                return null;
        }
    }
}
