using System.Text.RegularExpressions;
using ModelZoo.Core.Datasets;
using YamlDotNet.Serialization;

namespace ModelZoo.Core.Cards;

/// <summary>
/// The YAML metadata block that opens a card, in the fields and shapes the Hugging Face Hub reads from a model card
/// (hub-docs' modelcard.md: license, datasets, metrics, base_model, pipeline_tag, tags, and a model-index entry with
/// the results), so a card pushed to the Hub is indexed there. Every value comes from the run's record; a field the
/// record cannot fill truthfully is left out, except the licence, which says "unknown" rather than guess.
/// </summary>
public static partial class CardFrontMatter
{
    /// <summary>Licence ids the Hub accepts (https://hf.co/docs/hub/repositories-licenses) that catalogue entries use
    /// or may use; another licence is "unknown", since the Hub's "other" needs a name and a link the record lacks.</summary>
    static readonly HashSet<string> HubLicences = new(StringComparer.Ordinal)
    {
        "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0",
        "cc-by-nc-4.0", "gpl-2.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "isc", "unlicense", "pddl", "odc-by", "odbl", "openrail",
    };

    /// <summary>The model's licence for the Hub: the base model's, as transformers' Trainer writes it when it can read
    /// the base model's, or "unknown". The training data's licence may add terms; the card's text names it.</summary>
    public static string Licence(CardInput c)
    {
        var id = (c.Model.License?.Name ?? "").Trim().ToLowerInvariant();
        return HubLicences.Contains(id) ? id : "unknown";
    }

    /// <summary>The base model's Hub id where the entry records one: a weights URL on huggingface.co.</summary>
    public static string? BaseModel(CardInput c) =>
        c.Model.Weights?.Url is { } url && HubModelUrl().Match(url) is { Success: true } m ? m.Groups[1].Value : null;

    public static string PipelineTag(CardInput c) => c.Dataset.Modality == DatasetModality.Text ? "text-classification" : "image-classification";

    /// <summary>The block, from the opening <c>---</c> line to the closing one and a blank line.</summary>
    public static string Build(CardInput c)
    {
        var r = c.Result;
        var task = PipelineTag(c);
        var metrics = new List<Dictionary<string, object>>
        {
            new() { ["type"] = "accuracy", ["value"] = Math.Round(r.TestAccuracy, 4), ["name"] = "Test accuracy" },
        };
        if (r.PerClass.Count > 0 && double.IsFinite(r.MacroF1))
            metrics.Add(new() { ["type"] = "f1", ["value"] = Math.Round(r.MacroF1, 4), ["name"] = "Test macro-F1", ["args"] = new Dictionary<string, object> { ["average"] = "macro" } });

        var datasets = new List<string> { c.Dataset.Id };
        if (c.Target is { } target) datasets.Add(target.Id);
        // A run with several tasks learnt every task's dataset; each task's test accuracy is a result of its own below.
        foreach (var t in r.Tasks) if (!datasets.Contains(t.DatasetId)) datasets.Add(t.DatasetId);
        var evaluated = c.Target ?? c.Dataset;
        var tags = new List<string> { "modelzoo", "transfer-learning", c.Request.Strategy, c.Model.Architecture };
        if (c.Model.Family is { Length: > 0 } family && family != c.Model.Architecture) tags.Add(family);

        var front = new Dictionary<string, object> { ["license"] = Licence(c) };
        front["library_name"] = "torchsharp";
        front["pipeline_tag"] = task;
        front["tags"] = tags.Distinct(StringComparer.Ordinal).ToList();
        front["datasets"] = datasets;
        front["metrics"] = metrics.Select(m => (string)m["type"]).ToList();
        if (BaseModel(c) is { } baseModel) front["base_model"] = baseModel;
        front["model-index"] = new List<object>
        {
            new Dictionary<string, object>
            {
                ["name"] = Plain(string.IsNullOrWhiteSpace(c.RunName) ? $"{c.Model.Id} {c.Request.Strategy} {c.Dataset.Id}" : c.RunName),
                ["results"] = (List<object>)
                [
                    new Dictionary<string, object>
                    {
                        ["task"] = new Dictionary<string, object> { ["type"] = task, ["name"] = task == "text-classification" ? "Text Classification" : "Image Classification" },
                        ["dataset"] = new Dictionary<string, object> { ["name"] = Plain(evaluated.Title), ["type"] = evaluated.Id, ["split"] = "test" },
                        ["metrics"] = metrics,
                    },
                    .. r.Tasks.Skip(1).Select(t => (object)new Dictionary<string, object>
                    {
                        ["task"] = new Dictionary<string, object> { ["type"] = task, ["name"] = task == "text-classification" ? "Text Classification" : "Image Classification" },
                        ["dataset"] = new Dictionary<string, object> { ["name"] = t.DatasetId, ["type"] = t.DatasetId, ["split"] = "test" },
                        ["metrics"] = TaskMetrics(t),
                    }),
                ],
            },
        };
        var yaml = new SerializerBuilder().Build().Serialize(front);
        return $"---\n{yaml}---\n\n";
    }

    static List<Dictionary<string, object>> TaskMetrics(Runs.TaskResult t)
    {
        var list = new List<Dictionary<string, object>> { new() { ["type"] = "accuracy", ["value"] = Math.Round(t.TestAccuracy, 4), ["name"] = "Test accuracy" } };
        if (double.IsFinite(t.MacroF1))
            list.Add(new() { ["type"] = "f1", ["value"] = Math.Round(t.MacroF1, 4), ["name"] = "Test macro-F1", ["args"] = new Dictionary<string, object> { ["average"] = "macro" } });
        return list;
    }

    /// <summary>User-given names without the characters Markdown or HTML would act on: the block is data for the Hub,
    /// but a viewer that does not know front matter shows it as text.</summary>
    static string Plain(string s) => MarkupCharacters().Replace(s, " ").Trim();

    [GeneratedRegex(@"[<>\[\]`|\\]+")]
    private static partial Regex MarkupCharacters();

    [GeneratedRegex(@"^https://huggingface\.co/([A-Za-z0-9][\w.-]*/[\w.-]+)/(?:resolve|blob)/")]
    private static partial Regex HubModelUrl();
}
