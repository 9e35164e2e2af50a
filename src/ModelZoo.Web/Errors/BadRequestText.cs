using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelZoo.Web.Errors;

/// <summary>
/// Says what was wrong with a request the API could not read, in the caller's terms. The framework's own messages
/// name .NET types ("Failed to read parameter "RunRequest request"", "could not be converted to System.Int32"),
/// which mean nothing to a script in another language and describe the server's insides; these name the JSON
/// position, the parameter and what it should have been.
/// </summary>
static partial class BadRequestText
{
    public static string Title(int status) => status switch
    {
        StatusCodes.Status415UnsupportedMediaType => "The request body has the wrong content type.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        _ => "The request could not be read.",
    };

    public static string Describe(BadHttpRequestException e, string method, PathString path)
    {
        if (e.InnerException is JsonException json) return "The request body is not valid JSON: " + Json(json);
        var m = e.Message;
        if (UnexpectedContentType().Match(m) is { Success: true } ct)
            return $"The request body must be JSON, sent with 'Content-Type: application/json'; it was sent as "
                + (ct.Groups[1].Value is { Length: > 0 } t ? $"'{t}'." : "no content type.");
        if (RequiredNotProvided().Match(m) is { Success: true } req)
            return req.Groups[3].Value == "body"
                ? "The request needs a JSON body (Content-Type: application/json), and none was sent."
                : $"The parameter '{req.Groups[2].Value}' is required in the {Source(req.Groups[3].Value)} and was not given.";
        if (BindFailed().Match(m) is { Success: true } bind)
            return $"The value '{Clip(bind.Groups[3].Value)}' is not valid for the parameter '{bind.Groups[2].Value}': {Expected(bind.Groups[1].Value)}.";
        if (ImplicitBody().IsMatch(m)) return "The request needs a JSON body (Content-Type: application/json), and none was sent.";
        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge) return m; // Kestrel's own sentence names the limit in bytes.
        if (m.StartsWith("Unexpected end of request content", StringComparison.Ordinal))
            return "The request body ended before its declared length (the upload was cut off).";
        return $"The request to {method} {path} could not be read.";
    }

    /// <summary>The JSON reader's reason, with its line, byte and path; a value of the wrong type is said in JSON terms.</summary>
    static string Json(JsonException e)
    {
        var where = $"line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}"
            + (string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $", at {e.Path}");
        var reason = e.Message;
        int cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut >= 0) reason = reason[..cut];
        if (NotConverted().Match(reason) is { Success: true } c)
        {
            reason = $"the value {(string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $"of {e.Path} ")}has the wrong type: {Expected(c.Groups[1].Value)}";
            where = $"line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}";
        }
        else if (reason.Contains("System.", StringComparison.Ordinal) || reason.Contains("ModelZoo.", StringComparison.Ordinal))
            reason = "the value does not fit the request's shape"; // anything else naming a .NET type tells the caller nothing
        return $"{reason.TrimEnd('.')} ({where}).";
    }

    /// <summary>What a value of a .NET type looks like in JSON or a URL.</summary>
    static string Expected(string type)
    {
        var t = type.TrimEnd('?');
        if (t.StartsWith("System.Nullable`1[", StringComparison.Ordinal)) t = t["System.Nullable`1[".Length..].TrimEnd(']');
        t = t[(t.LastIndexOf('.') + 1)..];
        return t switch
        {
            "Int32" or "Int64" or "Int16" or "Byte" or "int" or "long" or "short" or "byte" => "expected a whole number",
            "Double" or "Single" or "Decimal" or "double" or "float" or "decimal" => "expected a number",
            "Boolean" or "bool" => "expected true or false",
            "String" or "string" => "expected a string",
            "Guid" => "expected an id such as 3f2b8c1e-0d4a-4a7b-9c55-2e8f1b6d7a90",
            "DateTime" or "DateTimeOffset" => "expected a date and time such as 2026-11-23T10:00:00Z",
            _ when t.EndsWith("[]", StringComparison.Ordinal) || t.StartsWith("List`1", StringComparison.Ordinal)
                || t.StartsWith("IReadOnlyList`1", StringComparison.Ordinal) => "expected an array",
            _ when t.StartsWith("Dictionary`2", StringComparison.Ordinal) || t.StartsWith("IReadOnlyDictionary`2", StringComparison.Ordinal)
                => "expected an object",
            _ => EnumNames(type) is { } names ? $"expected one of {names}" : "see the request's schema in /openapi/v1.json",
        };
    }

    /// <summary>An enum's accepted names (the API reads enums as strings), found by the type's full name.</summary>
    static string? EnumNames(string fullName)
    {
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(fullName.TrimEnd('?'), throwOnError: false)).FirstOrDefault(t => t is not null);
        return type is { IsEnum: true } ? string.Join(", ", Enum.GetNames(type).Select(n => $"'{n}'")) : null;
    }

    static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "…";

    static string Source(string s) => s switch { "query string" => "query string", "route" => "path", "header" => "headers", _ => s };

    [GeneratedRegex("^Expected a supported (?:JSON|form) media type but got \"(.*)\"\\.")]
    private static partial Regex UnexpectedContentType();
    [GeneratedRegex("^Required parameter \"(.+) (\\w+)\" was not provided from (.+?)\\.?$")]
    private static partial Regex RequiredNotProvided();
    [GeneratedRegex("^Failed to bind parameter \"(.+) (\\w+)\" from \"(.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindFailed();
    [GeneratedRegex("^Implicit body inferred for parameter")]
    private static partial Regex ImplicitBody();
    [GeneratedRegex("could not be converted to ([^ ]+?)\\.?$")]
    private static partial Regex NotConverted();
}
