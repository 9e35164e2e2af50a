namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>One class of a prediction: its output index, the name the run's card and confusion matrix use, and its
/// softmax probability.</summary>
public sealed record PredictedClass(int Index, string Name, double Probability);

/// <summary>
/// Where the image model looked: the Grad-CAM map of <see cref="TargetName"/> over the activations of
/// <see cref="Stage"/> (module <see cref="Module"/>), <see cref="Height"/> x <see cref="Width"/> values in [0, 1]
/// row-major, and drawn over the part of the image the model saw as a PNG data URL.
/// </summary>
public sealed record GradCamView(string Stage, string Module, int TargetClass, string TargetName, int Height, int Width,
    IReadOnlyList<float> Map, string OverlayPng);

/// <summary>What "Try it" answers: the top classes (descending), and for an image model its Grad-CAM view.</summary>
public sealed record RunPrediction
{
    public Guid RunId { get; init; }
    public string ModelId { get; init; } = "";
    public string Architecture { get; init; } = "";
    public string DatasetId { get; init; } = "";
    /// <summary><c>image</c> or <c>text</c>.</summary>
    public string Modality { get; init; } = "";
    public int Classes { get; init; }
    public IReadOnlyList<PredictedClass> Top { get; init; } = [];
    public GradCamView? GradCam { get; init; }
    /// <summary>For images: the part of the image the model saw (its centre crop, in the dataset's channels), as a PNG
    /// data URL the size of the overlay.</summary>
    public string? InputPng { get; init; }
    /// <summary>How the input was prepared, in a sentence (the run's evaluation preprocessing).</summary>
    public string Preprocessing { get; init; } = "";
}

/// <summary>Why a prediction was refused; the web maps each to its status code.</summary>
public enum PredictFailure
{
    /// <summary>No such run (404).</summary>
    RunNotFound,
    /// <summary>The run has not succeeded, has no usable weights, or its model cannot predict from them (409).</summary>
    NotAvailable,
    /// <summary>An image sent to a text run or the reverse (400).</summary>
    WrongModality,
    /// <summary>Not an image, a corrupt one, an empty text, a bad parameter (400).</summary>
    BadInput,
    /// <summary>Over a size limit (413).</summary>
    TooLarge,
}

/// <summary>A prediction, or why there is none in words for the user.</summary>
public sealed record PredictOutcome(RunPrediction? Prediction, PredictFailure? Failure, string? Problem)
{
    public static PredictOutcome Refused(PredictFailure failure, string problem) => new(null, failure, problem);
}
