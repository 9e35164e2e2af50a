using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>Identity's principal (id, name, roles, security stamp) plus a claim while the password must be changed,
/// which <see cref="PasswordChangeGate"/> reads on every request without a database query.</summary>
public sealed class ZooClaimsPrincipalFactory(UserManager<ZooUser> users, RoleManager<IdentityRole> roles, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<ZooUser, IdentityRole>(users, roles, options)
{
    public const string MustChangePasswordClaim = "mz:must_change_password";

    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(ZooUser user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        if (user.MustChangePassword) identity.AddClaim(new Claim(MustChangePasswordClaim, "true"));
        return identity;
    }
}

/// <summary>Marks the pages a user may open while their password must still be changed.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AllowedBeforePasswordChangeAttribute : Attribute;

/// <summary>
/// A user holding a one-time password may do nothing but change it: pages redirect to the change-password page and the
/// API, the hub and Blazor circuits answer 403. So a one-time password that leaks (it was printed to a console) is worth
/// one password change, which its holder then notices.
/// </summary>
public static class PasswordChangeGate
{
    public const string ChangePath = "/account/change-password";

    public static IApplicationBuilder UsePasswordChangeGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.User.HasClaim(c => c.Type == ZooClaimsPrincipalFactory.MustChangePasswordClaim))
        {
            var endpoint = context.GetEndpoint();
            if (endpoint?.Metadata.GetMetadata<AllowedBeforePasswordChangeAttribute>() is null)
            {
                if (AccountsSetup.IsApiRequest(context.Request) || context.Request.Path.StartsWithSegments("/_blazor"))
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    await context.Response.WriteAsJsonAsync(new { title = "Change your one-time password first.", status = 403 });
                    return;
                }
                // Pages go to the change-password page; scripts, styles and images (no page metadata) pass, since
                // that page needs them too.
                if (endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Components.Endpoints.ComponentTypeMetadata>() is not null)
                {
                    context.Response.Redirect(ChangePath);
                    return;
                }
            }
        }
        await next(context);
    });
}
