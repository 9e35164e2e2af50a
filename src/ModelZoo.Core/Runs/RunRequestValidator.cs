using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Runs;

/// <summary>
/// One set of rules for the form and the REST API, so both explain a bad value in the same words.
/// Keys are the field names ("HyperParameters.Epochs") so a form can show each message under its field.
/// </summary>
public static class RunRequestValidator
{
    public const int MaxEpochs = 500;
    public const int MaxBatchSize = 4096;

    public const int MinTokens = 8, MaxTokens = 4096;

    /// <param name="modelModality">What the model reads (null: unknown); with <paramref name="datasetModality"/> it
    /// refuses a text model on images and the reverse before anything is queued.</param>
    public static IReadOnlyDictionary<string, string> Validate(
        RunRequest r, Func<string, bool> modelExists, Func<string, bool> datasetExists,
        Func<string, DatasetModality?>? modelModality = null, Func<string, DatasetModality?>? datasetModality = null)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(r.ModelId)) errors["ModelId"] = "Choose a model.";
        else if (!modelExists(r.ModelId)) errors["ModelId"] = $"Model '{r.ModelId}' is not in the catalogue.";
        if (string.IsNullOrWhiteSpace(r.DatasetId)) errors["DatasetId"] = "Choose a dataset.";
        else if (!datasetExists(r.DatasetId)) errors["DatasetId"] = $"Dataset '{r.DatasetId}' does not exist or is not ready.";
        if (!errors.ContainsKey("ModelId") && !errors.ContainsKey("DatasetId")
            && modelModality?.Invoke(r.ModelId) is { } mm && datasetModality?.Invoke(r.DatasetId) is { } dm && mm != dm)
            errors["DatasetId"] = $"Model '{r.ModelId}' reads {Noun(mm)}, but dataset '{r.DatasetId}' holds {Noun(dm)}: " +
                                  $"choose a{(mm == DatasetModality.Image ? "n image" : " text")} dataset, or a{(dm == DatasetModality.Image ? "n image" : " text")} model for this one.";
        if (!Enum.IsDefined(r.Strategy)) errors["Strategy"] = $"Unknown strategy '{r.Strategy}'.";

        var h = r.HyperParameters;
        if (h is null) { errors["HyperParameters"] = "Hyper-parameters are required."; return errors; }
        if (h.Epochs is < 1 or > MaxEpochs) errors["HyperParameters.Epochs"] = $"Epochs must be between 1 and {MaxEpochs}.";
        if (h.BatchSize is < 1 or > MaxBatchSize) errors["HyperParameters.BatchSize"] = $"Batch size must be between 1 and {MaxBatchSize}.";
        if (double.IsNaN(h.LearningRate) || h.LearningRate <= 0 || h.LearningRate > 10)
            errors["HyperParameters.LearningRate"] = "Learning rate must be greater than 0 and at most 10 (typical: 1e-4 to 1e-2).";
        if (h.Seed < 0) errors["HyperParameters.Seed"] = "Seed must be zero or positive.";
        if (h.ImageSize is < 16 or > 512) errors["HyperParameters.ImageSize"] = "Input size must be between 16 and 512 pixels.";
        if (h.MaxTokens is < MinTokens or > MaxTokens) errors["HyperParameters.MaxTokens"] = $"Maximum text length must be between {MinTokens} and {MaxTokens} tokens.";
        if (h.TrainLimit < 0) errors["HyperParameters.TrainLimit"] = "Training limit must be zero (all) or positive.";
        if (r.Name is { Length: > 200 }) errors["Name"] = "Name must be at most 200 characters.";
        return errors;
    }

    static string Noun(DatasetModality m) => m == DatasetModality.Image ? "images" : "texts";
}
