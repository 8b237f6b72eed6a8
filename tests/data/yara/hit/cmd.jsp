<%-- Test sample for RAMPART_Webshell_JSP_Runtime_Exec: the scriptlet is a comment, never compiled.
<% Process p = Runtime.getRuntime().exec(request.getParameter("cmd")); %>
--%>
